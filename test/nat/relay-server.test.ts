/**
 * The relay's pairs as the sessions under them come and go, on their own:
 * stand-in sessions and streams record what the relay does (the protocol runs
 * on real nodes in test/overlay/paths.test.ts).
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import type { NodeId } from '../../src/identity/node-id.js'
import { silentLogger } from '../../src/log/logger.js'
import { MessageType, RelayOp, type Message, type RelayMessage } from '../../src/messaging/messages.js'
import { RelayServer } from '../../src/nat/relay-server.js'
import type { Session } from '../../src/session/session.js'
import type { RemoteAddress } from '../../src/transport/connection.js'
import type { UdpSocket } from '../../src/transport/udp-socket.js'

type OverlaySession = Session<Message>

const A = 'a'.repeat(52) as NodeId
const B = 'b'.repeat(52) as NodeId

/** A session with its peer: what it was sent, where the peer is, and a close as the node does it. */
class FakeSession extends EventEmitter {
  writable = true
  readonly sent: Message[] = []
  constructor(
    readonly peerId: NodeId,
    public remote: RemoteAddress,
  ) {
    super()
  }
  send(message: Message): boolean {
    if (!this.writable) throw new Error('not writable')
    this.sent.push(message)
    return true
  }
  ops(): RelayOp[] {
    return this.sent.map((m) => (m as RelayMessage).op)
  }
  /** Closing: no longer writable, its 'close' still to come (the close grace). */
  closing(): void {
    this.writable = false
  }
  closeNow(): void {
    this.writable = false
    this.emit('close', null)
  }
}

let streamIds = 1
function fakeStream(): EventEmitter {
  return Object.assign(new EventEmitter(), { id: streamIds++, bytesReceived: 0, connect() {}, relayTo() {}, destroy() {} })
}

/** A relay whose sessions with each peer now are in `current` (the registry). */
function relay(): { server: RelayServer; current: Map<NodeId, FakeSession> } {
  const current = new Map<NodeId, FakeSession>()
  const server = new RelayServer({
    socket: { createStream: fakeStream, raw: {} } as unknown as UdpSocket,
    limits: { maxSessions: 10, maxPerNode: 10, maxDurationMs: 60_000, maxBytes: 1e9, idleTimeoutMs: 30_000 },
    remoteOf: (session) => (session as unknown as FakeSession).remote,
    current: (peer) => current.get(peer) as unknown as OverlaySession | undefined,
    log: silentLogger,
  })
  return { server, current }
}

const at = (host: string, port = 4000): RemoteAddress => ({ host, port })

function session(current: Map<NodeId, FakeSession>, peer: NodeId, remote: RemoteAddress): FakeSession {
  const s = new FakeSession(peer, remote)
  current.set(peer, s)
  return s
}

function open(server: RelayServer, a: FakeSession, b: FakeSession | null): void {
  const as = (s: FakeSession): OverlaySession => s as unknown as OverlaySession
  server.onMessage(as(a), { type: MessageType.Relay, op: RelayOp.Prepare, token: 't', target: B })
  server.onMessage(as(a), { type: MessageType.Relay, op: RelayOp.Join, token: 't', streamId: 7 })
  if (b) server.onMessage(as(b), { type: MessageType.Relay, op: RelayOp.Join, token: 't', streamId: 8 })
}

/** A relay with an open pair: a's session from 10.0.0.1, b's from 10.0.0.2. */
function pairOpen(): { server: RelayServer; current: Map<NodeId, FakeSession>; a1: FakeSession; b: FakeSession } {
  const { server, current } = relay()
  const a1 = session(current, A, at('10.0.0.1'))
  const b = session(current, B, at('10.0.0.2'))
  open(server, a1, b)
  return { server, current, a1, b }
}

describe('a relay pair and the sessions it was joined on', () => {
  it('moves to the session that replaced an end\'s, as often as it happens, and ends with the last one', () => {
    const { server, current, a1, b } = pairOpen()
    const a2 = session(current, A, at('10.0.0.1'))
    a1.closeNow()
    const a3 = session(current, A, at('10.0.0.1'))
    a2.closeNow()
    assert.equal(server.active, 1)
    current.delete(A)
    a3.closeNow()
    assert.equal(server.active, 0)
    assert.deepEqual(b.ops(), [RelayOp.Ready, RelayOp.Refused])
  })

  it('a pair that ends after it moved tells the end on the session it moved to', () => {
    const { server, current, a1 } = pairOpen()
    const a2 = session(current, A, at('10.0.0.1'))
    a1.closeNow()
    server.stop()
    assert.deepEqual(a2.ops(), [RelayOp.Refused])
  })

  it('one close listener on a session however many pairs it carries or carried, and a pair ended is forgotten by its sessions', () => {
    const { server, current } = relay()
    const a = session(current, A, at('10.0.0.1'))
    const b = session(current, B, at('10.0.0.2'))
    const base = b.listenerCount('close')
    const as = (s: FakeSession): OverlaySession => s as unknown as OverlaySession
    for (let i = 0; i < 30; i++) {
      server.onMessage(as(a), { type: MessageType.Relay, op: RelayOp.Prepare, token: `t${i}`, target: B })
      server.onMessage(as(a), { type: MessageType.Relay, op: RelayOp.Join, token: `t${i}`, streamId: 100 + i })
      server.onMessage(as(b), { type: MessageType.Relay, op: RelayOp.Join, token: `t${i}`, streamId: 200 + i })
      if (server.active === 8) server.stop() // ends every pair so far, below the limit of 10 at once
    }
    assert.equal(b.listenerCount('close'), base + 1)
    assert.equal(a.listenerCount('close'), base + 1)
    assert.equal(server.active, 6)
    const sentToB = b.sent.length
    b.closeNow()
    assert.equal(server.active, 0, 'the 6 pairs on it end with it')
    assert.equal(b.sent.length, sentToB, 'a closed session is not written to')
    assert.equal(a.ops().filter((op) => op === RelayOp.Refused).length, 30, 'the other end hears the end of each pair')
  })

  it('a pair not open yet moves too: READY goes to the replacement', () => {
    const { server, current } = relay()
    const a1 = session(current, A, at('10.0.0.1'))
    open(server, a1, null)
    const a2 = session(current, A, at('10.0.0.1'))
    a1.closeNow()
    const b = session(current, B, at('10.0.0.2'))
    server.onMessage(b as unknown as OverlaySession, { type: MessageType.Relay, op: RelayOp.Join, token: 't', streamId: 8 })
    assert.equal(server.active, 1)
    assert.deepEqual(a2.ops(), [RelayOp.Ready])
    assert.deepEqual(b.ops(), [RelayOp.Ready])
  })

  it('ends when the end\'s other session comes from another address (the pair\'s stream sends to the old one)', () => {
    const { server, current, a1 } = pairOpen()
    session(current, A, at('10.0.0.1', 4001))
    a1.closeNow()
    assert.equal(server.active, 0)
  })

  it('compares with the address the pair sends to, not where the old session had moved since', () => {
    const { server, current, a1 } = pairOpen()
    a1.remote = at('10.0.0.9') // the session followed a NAT rebinding after the JOIN
    session(current, A, at('10.0.0.9'))
    a1.closeNow()
    assert.equal(server.active, 0, 'the pair\'s stream still sends to 10.0.0.1')
  })

  it('tells an end whose session is closing on its current one', () => {
    const { server, current, a1 } = pairOpen()
    a1.closing()
    const a2 = session(current, A, at('10.0.0.1'))
    server.stop()
    assert.deepEqual(a2.ops(), [RelayOp.Refused])
    assert.ok(!a1.ops().includes(RelayOp.Refused))
  })
})
