/**
 * Discovery with real nodes on loopback: JOIN through a bootstrap node, peer
 * exchange, the peer limit with referrals, reconnects, and a restart that
 * finds the network again from the peer cache when the bootstrap node is gone.
 */
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import type { OverlayError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import { BroadcastKind, MessageType, RoutedKind } from '../../src/messaging/messages.js'
import { signBroadcast, signRouted } from '../../src/messaging/signed.js'
import { duplicateSessionError } from '../../src/node/session-registry.js'
import type { OverlayNode, OverlaySession } from '../../src/node/node.js'
import { FAST_HEARTBEAT, networkCa, startNodes, type NodeOptions } from '../helpers/network.js'
import { startNode } from '../helpers/nodes.js'
import { tempDir, testCredentials } from '../helpers/pki.js'
import { nextEvent, until, within } from '../helpers/wait.js'

const QUICK = { heartbeat: FAST_HEARTBEAT, peers: { maintainIntervalMs: 200, backoffBaseMs: 100, backoffMaxMs: 1_000 } }

function ids(node: OverlayNode): string[] {
  return node.sessions().map((s) => s.peerId).sort()
}

describe('JOIN and peer exchange', () => {
  it('nodes that know only a bootstrap node find each other and open sessions', async (t) => {
    const [bootstrap] = await startNodes(t, 1, QUICK)
    if (!bootstrap) throw new Error('unreachable')
    const joiners = await startNodes(t, 4, (i) => ({ ...QUICK, name: `j${i}`, bootstrap: [bootstrap.address] }))
    const all = [bootstrap, ...joiners]
    // Full mesh: 5 nodes, each below its target of 6 sessions, all learn of all.
    await until(() => all.every((n) => n.sessions().length === 4), 10_000, 'every node to hold a session with every other')
    for (const node of all) {
      assert.deepEqual(ids(node), all.filter((o) => o !== node).map((o) => o.nodeId).sort())
      assert.equal(node.knownPeers().length, 4, `${node.name} knows every other node`)
    }
    // The records are the signed originals: names and addresses as their owners said.
    const entry = joiners[0]?.store.get(joiners[3]?.nodeId as string)
    assert.equal(entry?.record.name, 'j3')
    assert.deepEqual(entry?.record.addresses.map((a) => a.address), [`127.0.0.1:${joiners[3]?.address.port}`])
  })

  it('joins through a bootstrap peer given by host name, resolved at the dial', async (t) => {
    const [bootstrap] = await startNodes(t, 1, QUICK)
    if (!bootstrap) throw new Error('unreachable')
    // localhost resolves from /etc/hosts: no traffic leaves the machine.
    const [joiner] = await startNodes(t, 1, { ...QUICK, bootstrap: [{ host: 'localhost', port: bootstrap.address.port }] })
    await until(() => joiner?.sessions().some((s) => s.peerId === bootstrap.nodeId) === true, 10_000, 'a session with the bootstrap node')
  })

  it('keeps at most peers.max sessions and refers the rest to other peers', async (t) => {
    const [hub] = await startNodes(t, 1, { ...QUICK, peers: { ...QUICK.peers, target: 1, max: 2 } })
    if (!hub) throw new Error('unreachable')
    const others = await startNodes(t, 4, (i) => ({ ...QUICK, name: `o${i}`, peers: { ...QUICK.peers, target: 2, max: 4 }, bootstrap: [hub.address] }))
    await until(() => others.every((n) => n.sessions().length >= 2), 10_000, 'every node to reach its target of 2 through referrals')
    assert.ok(hub.sessions().length <= 2, `the hub holds ${hub.sessions().length} sessions`)
    assert.ok(hub.stats().rejected['peer-limit'] ?? 0 > 0, 'the hub refused some with referrals')
  })

  it('exactly one session per pair when both dial at once, also with discovery running', async (t) => {
    const [a, b] = await startNodes(t, 2, QUICK)
    if (!a || !b) throw new Error('unreachable')
    const ups: string[] = []
    a.on('peer:up', (s) => ups.push(s.peerId))
    await Promise.all([a.connect(b.address), b.connect(a.address), a.connect(b.address)])
    await until(() => a.sessions().length === 1 && b.sessions().length === 1 && a.session(b.nodeId)?.id === b.session(a.nodeId)?.id, 5_000, 'one shared session')
    await until(() => ups.length > 0, 5_000, 'peer:up')
    assert.deepEqual(ups, [b.nodeId], 'the peer came up once, however many sessions raced')
    assert.equal(a.peers().length, 1)
  })

  // Across processes, the end whose first session came up first can see it closed by
  // the other end's tie-break before the kept session is up here. The peer is not down.
  it('a session the peer closes for another one it keeps is replaced without a peer:down', async (t) => {
    const [a, b] = await connectedPair(t, QUICK)
    const first = a.session(b.nodeId)
    const events: string[] = []
    a.on('peer:down', (_s, error) => events.push(`down ${error?.code}`))
    a.on('peer:up', () => events.push('up'))
    const closed = Promise.all([nextEvent(a, 'session:down'), nextEvent(b, 'session:down')])
    b.session(a.nodeId)?.close(duplicateSessionError(a.name))
    await closed
    await b.connect(a.address)
    await until(() => a.session(b.nodeId) !== undefined && a.session(b.nodeId) !== first, 5_000, 'the replacement at a')
    assert.deepEqual(events, [], 'neither peer:down nor a second peer:up at a')
    assert.deepEqual(a.peers().map((p) => p.id), [b.nodeId])
  })


  it('... and with a peer:down when the session the peer said it keeps never comes', async (t) => {
    const [a, b] = await connectedPair(t, { ...QUICK, limits: { handshakeTimeoutMs: 500 } })
    const down = nextEvent<[OverlaySession, OverlayError | null]>(a, 'peer:down', () => true, 5_000)
    const closedAtA = nextEvent<[OverlaySession, OverlayError | null]>(a, 'session:down')
    b.session(a.nodeId)?.close(duplicateSessionError(a.name))
    const [, reason] = await closedAtA
    assert.equal(reason?.code, 'OVL_DUPLICATE_SESSION')
    await b.abort()
    const [, error] = await down
    assert.equal(error?.code, 'OVL_DUPLICATE_SESSION')
    assert.equal(a.peers().length, 0)
  })
  it('a message sent on a session the peer is closing for another one is delivered once, on the replacement', async (t) => {
    // The race `npm run demo` once lost a message to: a sends on its first session just after b,
    // keeping another one, closed it; b ignores what arrives on a session it has closed.
    // Target 0: neither node dials the other again by itself, so the one replacement is b's dial below.
    const [a, b] = await connectedPair(t, { ...QUICK, peers: { ...QUICK.peers, target: 0 }, messaging: { deliveryTimeoutMs: 20_000 } })
    const first = a.session(b.nodeId)
    const chats: string[] = []
    b.on('chat', (chat) => chats.push(chat.text))
    // Both ends have let go of the first session before b dials the one it keeps (as in the test above).
    const closed = Promise.all([nextEvent(a, 'session:down'), nextEvent(b, 'session:down')])
    b.session(a.nodeId)?.close(duplicateSessionError(a.name))
    const receipt = a.send(b.nodeId, 'sent as b closes the session')
    await closed
    await b.connect(a.address)
    await until(() => a.session(b.nodeId) !== undefined && a.session(b.nodeId) !== first, 5_000, 'the replacement at a')
    assert.equal((await within(5_000, receipt, 'the acknowledgement (the delivery timeout is 20 s)')).via, 'session')
    await until(() => chats.length > 0, 5_000, 'the chat at b')
    assert.deepEqual(chats, ['sent as b closes the session'], 'delivered exactly once')
  })

  it('messages sent both ways while the tie-break replaces a session both ends use are all delivered once', async (t) => {
    // The other side of the race above: each end closes the losing session itself, with
    // acknowledgements (and chats) still on their way over it.
    await sendThroughTieBreak(t, { olderHigh: false })
  })

  it('... also when the peer closes the replaced session at once, as nodes before the drain do', async (t) => {
    // Such a peer ignores what arrives after its CLOSE: what this end sent on the session
    // and has no acknowledgement for goes again on the replacement. (Such a peer's own
    // sends can still time out, which is what the drain fixes: only this end sends here.)
    // Whether a chat is still unread at the peer when it closes is up to the event loop:
    // without the resend this fails about one run in four, not every time.
    await sendThroughTieBreak(t, { olderHigh: true })
  })

  it('a peer revoked while a replaced session of it is still read loses that one too', async (t) => {
    const { low, high, first } = await firstSession(t, { ...QUICK, peers: { ...QUICK.peers, target: 0 } })
    await low.connect(high.address) // dialed by the lower node id: it replaces the first at both ends
    assert.notEqual(low.session(high.nodeId), first)
    assert.equal(first.state, 'up', 'the replaced session is still read')
    low.revocation.replace([high.nodeId])
    assert.equal(first.closeReason?.code, 'OVL_PEER_REVOKED')
    assert.equal(low.session(high.nodeId), undefined)
  })

  it('what arrives on a replaced session is not passed back to its peer on the current one', async (t) => {
    const { low, high, firstAtHigh } = await firstSession(t, { ...QUICK, peers: { ...QUICK.peers, target: 0 } })
    await low.connect(high.address)
    await until(() => high.session(low.nodeId) !== firstAtHigh, 5_000, 'the replacement at high')
    // What high passed on from a third node just before it took up the replacement, still read at low.
    const third = Identity.generate()
    const chat = nextEvent(low, 'chat')
    firstAtHigh.send({ type: MessageType.Broadcast, ...signBroadcast(third, { seq: Date.now() * 1000, kind: BroadcastKind.Chat, payload: Buffer.from('from a third node') }), hopLimit: 8 })
    firstAtHigh.send({ type: MessageType.Routed, ...signRouted(third, { target: Identity.generate().nodeId, id: '00000000000000bb', kind: RoutedKind.Chat, payload: Buffer.from('to nobody here') }), hopLimit: 8 })
    await chat
    await until(() => low.services.direct.routeTo(third.nodeId).via === 'route', 5_000, 'low to take the routed message (it learns the route back)')
    // high is low's only peer, and the one both came from: neither goes anywhere.
    assert.equal(low.stats().broadcast.forwarded, 0)
    assert.equal(low.stats().direct.relayed, 0)
    await high.ping(low.nodeId) // what low sent before its PONG has arrived at high
    assert.equal(high.stats().broadcast.delivered + high.stats().broadcast.duplicates, 0, 'nothing came back to high')
  })

  it('reconnects, with backoff, to a peer that comes back on the same address', async (t) => {
    const ca = await networkCa()
    const creds = testCredentials(ca, 'phoenix')
    const [a] = await startNodes(t, 1, QUICK)
    if (!a) throw new Error('unreachable')
    let b = await startNode(t, { ...QUICK, ...creds, name: 'phoenix', bootstrap: [a.address] })
    const port = b.address.port
    await until(() => a.session(b.nodeId) !== undefined, 5_000, 'the first session')
    // Down without a word (no LEAVE): as if it crashed.
    const down = nextEvent<[OverlaySession, OverlayError | null]>(a, 'session:down')
    await b.abort()
    await down
    b = await startNode(t, { ...QUICK, ...creds, name: 'phoenix', port })
    await until(() => a.session(b.nodeId) !== undefined, 10_000, 'a to dial the cached peer again')
  })
})

describe('the peer cache across restarts', () => {
  it('a restarted node whose bootstrap node is gone finds its peers again from the cache', async (t) => {
    const ca = await networkCa()
    const dir = await tempDir('overlay-cache-')
    const [bootstrap, b, c] = await startNodes(t, 3, QUICK)
    if (!bootstrap || !b || !c) throw new Error('unreachable')
    await Promise.all([b.connect(bootstrap.address), c.connect(bootstrap.address)])
    const creds = testCredentials(ca, 'returner')
    const dataDir = path.join(dir, 'returner')
    const first = await startNode(t, { ...QUICK, ...creds, name: 'returner', dataDir, bootstrap: [bootstrap.address] })
    await until(() => first.sessions().length === 3, 10_000, 'sessions with all three')
    await first.stop()
    await bootstrap.stop()

    const again = await startNode(t, { ...QUICK, ...creds, name: 'returner', dataDir, bootstrap: [bootstrap.address] })
    assert.ok(again.knownPeers().length >= 2, 'the cache came back from LevelDB')
    await until(() => again.session(b.nodeId) !== undefined && again.session(c.nodeId) !== undefined, 10_000, 'sessions with b and c from the cache')
    assert.equal(again.session(bootstrap.nodeId), undefined)
  })
})

/**
 * Two nodes with a session the higher node id dialed; the lower one dials a second,
 * which wins the tie-break at both ends, while the ends send chats on every turn of the
 * event loop. Every chat must be acknowledged and arrive exactly once.
 */
async function sendThroughTieBreak(t: TestContext, options: { olderHigh: boolean }): Promise<void> {
  const limits = { messagesPerSecond: 1_000_000, deliveriesPerSecond: 1_000_000 }
  const { low, high, first, firstAtHigh } = await firstSession(t, { ...QUICK, limits, peers: { ...QUICK.peers, target: 0 }, messaging: { deliveryTimeoutMs: 20_000 } })
  if (options.olderHigh) {
    // As if its own replacement came up just before, and its CLOSE crosses low's taking up of it.
    low.on('session:up', (session) => session !== first && firstAtHigh.close(duplicateSessionError(low.name)))
  }
  const replaced = (node: OverlayNode, peer: OverlayNode): boolean => node.session(peer.nodeId) !== undefined && node.session(peer.nodeId) !== first && node.session(peer.nodeId) !== firstAtHigh
  const heard = new Map<OverlayNode, string[]>([[low, []], [high, []]])
  for (const node of [low, high]) node.on('chat', (chat) => heard.get(node)?.push(chat.text))
  const sent = new Map<OverlayNode, string[]>([[low, []], [high, []]])
  const directions = options.olderHigh ? ([[low, high]] as const) : ([[low, high], [high, low]] as const)
  // Each send's failure, or null: caught as it happens (a rejection left for later is an unhandled one).
  const outcomes: Promise<string | null>[] = []
  let next: NodeJS.Immediate | undefined
  const pump = (): void => {
    for (const [from, to] of directions) {
      const text = `${from.name} ${sent.get(from)?.length}`
      sent.get(from)?.push(text)
      outcomes.push(from.send(to.nodeId, text).then(() => null, (error: Error) => `${text}: ${error.message}`))
    }
    next = setImmediate(pump)
  }
  pump()
  await low.connect(high.address)
  await until(() => replaced(low, high) && replaced(high, low), 5_000, 'the replacement at both ends')
  clearImmediate(next)
  const failed = (await within(5_000, Promise.all(outcomes), 'every acknowledgement (the delivery timeout is 20 s)')).filter((o) => o !== null)
  assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} messages failed`)
  for (const [from, to] of directions) {
    assert.deepEqual([...(heard.get(to) ?? [])].sort(), [...(sent.get(from) ?? [])].sort(), `every chat from ${from.name} arrived once`)
  }
  // The replaced session is read for a while, with no heartbeats of its own, then closed: no session is left behind.
  if (!options.olderHigh) assert.equal(first.state, 'up', 'the replaced session is still read')
  assert.equal(low.services.liveness.stats(first), null, 'no heartbeats on the replaced session')
  await until(() => first.state === 'closed', 5_000, 'the replaced session to close')
  assert.equal(first.closeReason?.code, 'OVL_DUPLICATE_SESSION')
  // Nothing sent again once it closed arrived twice.
  await until(() => firstAtHigh.state === 'closed', 5_000, "high's end of it to close")
  for (const [from, to] of directions) {
    assert.deepEqual([...(heard.get(to) ?? [])].sort(), [...(sent.get(from) ?? [])].sort(), `still every chat from ${from.name} once`)
  }
  for (const node of [low, high]) {
    const { sessionsOpened, sessionsClosed, sessions } = node.stats()
    assert.equal(sessionsOpened - sessionsClosed, sessions, `${node.name} counted the replaced session as closed`)
  }
}

/** Two nodes, a having dialed b and seen b's peer:up. */
async function connectedPair(t: TestContext, settings: NodeOptions): Promise<[OverlayNode, OverlayNode]> {
  const [a, b] = await startNodes(t, 2, settings)
  if (!a || !b) throw new Error('unreachable')
  const up = nextEvent(a, 'peer:up')
  await a.connect(b.address)
  await up
  return [a, b]
}

/**
 * Two nodes and the session the higher node id dialed, as each end has it: a session
 * the lower one dials then wins the tie-break at both ends.
 */
async function firstSession(t: TestContext, settings: NodeOptions): Promise<{ low: OverlayNode; high: OverlayNode; first: OverlaySession; firstAtHigh: OverlaySession }> {
  const nodes = await startNodes(t, 2, settings)
  const [low, high] = nodes.sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1))
  if (!low || !high) throw new Error('unreachable')
  const up = nextEvent(low, 'peer:up')
  await high.connect(low.address)
  await up
  const [first, firstAtHigh] = [low.session(high.nodeId), high.session(low.nodeId)]
  if (!first || !firstAtHigh) throw new Error('no first session')
  return { low, high, first, firstAtHigh }
}
