import assert from 'node:assert/strict'
import type { OverlaySession } from '../../src/node/node.js'
import type { OverlayError } from '../../src/errors.js'
import { describe, it, before } from 'node:test'
import { MessageType, type Message } from '../../src/messaging/messages.js'
import type { NetworkCa } from '../../src/session/pki/ca.js'
import { isChat, startNode } from '../helpers/nodes.js'
import { testCa } from '../helpers/pki.js'
import { nextEvent, until, within } from '../helpers/wait.js'

describe('authenticated sessions over UDP', () => {
  let ca: NetworkCa
  before(async () => {
    ca = await testCa()
  })

  it('two nodes open a session and exchange messages both ways', async (t) => {
    const a = await startNode(t, { ca, name: 'alpha' })
    const b = await startNode(t, { ca, name: 'beta' })
    const upAtB = nextEvent(b, 'session:up')
    const session = await a.connect(b.address)
    const [atB] = await upAtB
    assert.equal(session.peer.nodeId, b.nodeId)
    assert.equal(session.peer.name, 'beta')
    assert.equal((atB as typeof session).peer.nodeId, a.nodeId)
    assert.equal(session.id, (atB as typeof session).id, 'both ends derive the same session id')

    const gotAtB = nextEvent<[Message]>(b, 'message', isChat)
    session.send({ type: MessageType.Chat, id: 0, text: 'hello beta' })
    assert.deepEqual((await gotAtB)[0], { type: MessageType.Chat, id: 0, text: 'hello beta' })

    const gotAtA = nextEvent<[Message]>(a, 'message', isChat)
    ;(atB as typeof session).send({ type: MessageType.Chat, id: 0, text: 'hello alpha ✓' })
    assert.deepEqual((await gotAtA)[0], { type: MessageType.Chat, id: 0, text: 'hello alpha ✓' })
  })

  it('holds many sessions at once and keeps them apart', async (t) => {
    const hub = await startNode(t, { ca, name: 'hub', peers: { max: 64 } })
    const spokes = await Promise.all(Array.from({ length: 20 }, (_, i) => startNode(t, { ca, name: `spoke-${i}` })))
    const sessions = await Promise.all(spokes.map((spoke) => spoke.connect(hub.address)))
    // The dialer is up when the hub's acknowledgement arrives; the hub, half a round trip later.
    await until(() => hub.counts.sessions === 20, 5_000, 'the hub to see 20 sessions')
    const received = new Map<string, string>()
    const all = new Promise<void>((resolve) => {
      hub.on('message', (message, session) => {
        if (message.type === MessageType.Chat) received.set(session.peer.name, message.text)
        if (received.size === 20) resolve()
      })
    })
    sessions.forEach((session, i) => session.send({ type: MessageType.Chat, id: 0, text: `from ${i}` }))
    await within(10_000, all, 'twenty messages')
    for (let i = 0; i < 20; i++) assert.equal(received.get(`spoke-${i}`), `from ${i}`)
  })

  it('keeps exactly one session when both nodes dial each other at once', async (t) => {
    const a = await startNode(t, { ca, name: 'a' })
    const b = await startNode(t, { ca, name: 'b' })
    const closedAtA: string[] = []
    await Promise.all([a.connect(b.address), b.connect(a.address)])
    // Both handshakes complete; each node then closes the loser of the tie-break.
    await until(() => a.sessions().length === 1 && b.sessions().length === 1 && a.session(b.nodeId)?.id === b.session(a.nodeId)?.id, 5_000, 'one shared session')
    await until(() => a.counts.streams === 1 && b.counts.streams === 1, 5_000, 'the losing streams to close')
    a.on('session:down', (s) => closedAtA.push(s.id))
    const kept = a.session(b.nodeId)
    assert.ok(kept)
    const got = nextEvent<[Message]>(b, 'message', isChat)
    kept.send({ type: MessageType.Chat, id: 0, text: 'still works' })
    assert.equal(((await got)[0] as { text: string }).text, 'still works')
    assert.deepEqual(closedAtA, [], 'closing the duplicate is not reported as the peer going down')
  })

  it('aborts as a crash looks: no LEAVE and no END frame, so its peers see the session cut short', async (t) => {
    const a = await startNode(t, { ca, name: 'a' })
    const b = await startNode(t, { ca, name: 'b' })
    await a.connect(b.address)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(b, 'session:down')
    await a.abort()
    const [, error] = await down
    assert.equal(error?.code, 'OVL_SESSION_TRUNCATED')
    assert.equal(error?.origin, 'local')
  })

  it('stops cleanly, telling its peers it left: no sessions, streams or pending state left', async (t) => {
    const a = await startNode(t, { ca, name: 'a' })
    const b = await startNode(t, { ca, name: 'b' })
    await a.connect(b.address)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(b, 'session:down')
    await a.stop()
    const [, error] = await down
    assert.equal(error?.code, 'OVL_PEER_LEFT', 'a graceful stop says LEAVE: the peer drops the session at once')
    assert.equal(error?.origin, 'remote')
    assert.notEqual(b.store.get(a.nodeId)?.leftAt ?? null, null, 'and remembers that it left')
    assert.deepEqual(a.counts, { sessions: 0, halfOpen: 0, pendingDials: 0, streams: 0 })
    assert.equal(b.counts.sessions, 0)
    assert.equal(await a.stop(), undefined, 'stop is idempotent')
  })

  // Sizes: a message in one short packet, one ending in a full packet (held for a run by the
  // UDX port, and handed up only when the peer's END arrives), and one ending in a short packet.
  for (const size of [10, 1_100, 3_000]) {
    it(`answers the last message before the peer's orderly close (${size} B)`, async (t) => {
      const a = await startNode(t, { ca, name: 'alpha' })
      const b = await startNode(t, { ca, name: 'beta' })
      const upAtB = nextEvent<[OverlaySession]>(b, 'session:up')
      const session = await a.connect(b.address)
      const [atB] = await upAtB
      b.on('message', (message: Message) => {
        if (isChat(message)) atB.send({ type: MessageType.Chat, id: 0, text: `got ${(message as { text: string }).text.length}` })
      })
      const replies: string[] = []
      session.on('message', (message) => {
        if (isChat(message)) replies.push((message as { text: string }).text)
      })
      const closed = nextEvent(session, 'close')
      session.send({ type: MessageType.Chat, id: 0, text: 'x'.repeat(size) })
      session.close()
      await closed
      assert.deepEqual(replies, [`got ${size}`], 'the answer arrives before the session closes')
    })
  }
})
