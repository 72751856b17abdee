/**
 * Direct messages and broadcasts across real nodes that do not form a full
 * mesh: receipts, routing through the overlay, exactly-once broadcast, and
 * the refusal of forged, replayed and malformed messages (not forwarded).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Identity } from '../../src/identity/identity.js'
import { encodeMessage } from '../../src/messaging/codec.js'
import { BroadcastKind, MessageType, RoutedKind, type BroadcastMessage, type Message } from '../../src/messaging/messages.js'
import { signBroadcast, signRouted } from '../../src/messaging/signed.js'
import type { OverlayError } from '../../src/errors.js'
import type { ChatEvent, OverlayNode, OverlaySession } from '../../src/node/node.js'
import { line, MANUAL, networkCa, ringWithChords, startNodes, wire } from '../helpers/network.js'
import { testCredentials } from '../helpers/pki.js'
import { authenticatedRogue } from '../helpers/rogue.js'
import { nextEvent, until, within } from '../helpers/wait.js'

function chats(nodes: OverlayNode[]): Map<string, string[]> {
  const got = new Map<string, string[]>(nodes.map((n) => [n.nodeId, []]))
  for (const node of nodes) node.on('chat', (chat) => got.get(node.nodeId)?.push(`${chat.broadcast ? 'b' : 'd'}:${chat.from.slice(0, 6)}:${chat.text}`))
  return got
}

describe('direct messages', () => {
  it('are acknowledged over a session, and routed through the overlay to a node with no session', async (t) => {
    const nodes = await startNodes(t, 5, MANUAL)
    await wire(nodes, line(5))
    const [first, , , , last] = nodes as [OverlayNode, OverlayNode, OverlayNode, OverlayNode, OverlayNode]
    const got = nextEvent<[ChatEvent]>(last, 'chat')
    const direct = await first.send((nodes[1] as OverlayNode).nodeId, 'hello neighbour')
    assert.equal(direct.via, 'session')
    assert.equal(direct.hops, 1)

    const routed = await first.send(last.nodeId, 'hello from the far end')
    assert.equal(routed.via, 'routed')
    assert.equal(routed.hops, 4, 'four hops along the line')
    const [chat] = await got
    assert.deepEqual({ from: chat.from, text: chat.text, broadcast: chat.broadcast, via: chat.via, hops: chat.hops }, { from: first.nodeId, text: 'hello from the far end', broadcast: false, via: 'routed', hops: 4 })

    // The way back and forth is learned: the next message is not flooded.
    const ping = await last.ping(first.nodeId)
    assert.equal(ping.via, 'routed')
    assert.equal(first.services.direct.routeTo(last.nodeId).via, 'route')
  })

  it('take the learned route, not a flood, once a route is known', async (t) => {
    const nodes = await startNodes(t, 10, MANUAL)
    await wire(nodes, ringWithChords(10, 5))
    const [a, , , b] = nodes as OverlayNode[]
    if (!a || !b) throw new Error('unreachable')
    await a.send(b.nodeId, 'first') // floods, and teaches the way
    const relayedBefore = nodes.reduce((sum, n) => sum + n.stats().direct.relayed, 0)
    const receipt = await a.send(b.nodeId, 'second')
    const relayedAfter = nodes.reduce((sum, n) => sum + n.stats().direct.relayed, 0)
    // The message and its ACK each cross hops-1 relays, no more.
    assert.equal(relayedAfter - relayedBefore, 2 * (receipt.hops - 1), `relayed ${relayedAfter - relayedBefore} times for ${receipt.hops} hops`)
  })

  it('fail with a typed reason: no acknowledgement in time, refused by the rate limit, unknown peer', async (t) => {
    const nodes = await startNodes(t, 3, (i) => ({ ...MANUAL, messaging: { deliveryTimeoutMs: 500 }, limits: i === 2 ? { deliveriesPerSecond: 1 } : {} }))
    await wire(nodes, line(3))
    const [a, , c] = nodes as [OverlayNode, OverlayNode, OverlayNode]
    await assert.rejects(a.send(Identity.generate().nodeId, 'anyone there?'), { code: 'OVL_DELIVERY_TIMEOUT' })
    // A burst of 2 is allowed, then one a second.
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => a.send(c.nodeId, `burst ${i}`)))
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'OVL_DELIVERY_REFUSED')
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2)
    assert.equal(refused.length, 3)
    assert.throws(() => a.resolve('nobody'), { code: 'OVL_PEER_UNKNOWN' })
    assert.equal(a.resolve(c.name), c.nodeId, 'names resolve from the peer cache')
    assert.equal(a.resolve(c.nodeId.slice(0, 8)), c.nodeId, 'so do id prefixes')
  })

  it("are acknowledged however many the sender sends: its per-peer limit drops the peer's messages, not the answers to its own", async (t) => {
    // a may take 5 messages a second from b (burst 10); it sends b 40 chats at once, and b answers each.
    const [a, b] = (await startNodes(t, 2, (i) => ({ ...MANUAL, limits: i === 0 ? { messagesPerSecond: 5 } : {}, messaging: { deliveryTimeoutMs: 5_000 } }))) as [OverlayNode, OverlayNode]
    await wire([a, b], [[0, 1]])
    const receipts = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => a.send(b.nodeId, `chat ${i}`)))
    assert.deepEqual(receipts.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [])
    assert.equal(a.stats().rejected['rate-limited'] ?? 0, 0, 'no ACK was dropped')
    // b's own messages are still limited.
    const session = b.session(a.nodeId) as OverlaySession
    for (let i = 0; i < 40; i++) session.send({ type: MessageType.Chat, id: 0, text: 'flood' })
    await until(() => (a.stats().rejected['rate-limited'] ?? 0) > 0, 5_000, 'a to drop chats over its limit')
  })

  it("are limited per peer, not per session: a peer that reconnects does not get a fresh budget", async (t) => {
    // a takes 5 messages a second from b, 10 at once.
    const [a, b] = (await startNodes(t, 2, (i) => ({ ...MANUAL, limits: i === 0 ? { messagesPerSecond: 5 } : {} }))) as [OverlayNode, OverlayNode]
    let taken = 0
    let dropped = 0
    a.on('message', (message) => void (message.type === MessageType.Chat && taken++))
    a.on('input:rejected', (reason) => void (reason === 'rate-limited' && dropped++))
    await wire([a, b], [[1, 0]])
    let started = 0
    const flood = async (): Promise<void> => {
      const session = b.session(a.nodeId) as OverlaySession
      const before = taken + dropped
      started ||= performance.now()
      for (let i = 0; i < 40; i++) session.send({ type: MessageType.Chat, id: 0, text: 'flood' })
      // HELLO and JOIN count too, so at least 40 more.
      await until(() => taken + dropped >= before + 40, 5_000, 'a to take or drop the flood')
    }
    await flood()
    const first = b.session(a.nodeId) as OverlaySession
    first.close()
    await nextEvent(a, 'session:down')
    await b.connect(a.address)
    await flood()
    const elapsedS = (performance.now() - started) / 1000
    // One budget: the burst (and what was left of it after HELLO and JOIN), plus what refilled
    // since the first flood. A budget per session would have taken two bursts (20).
    assert.ok(taken <= 10 + Math.ceil(elapsedS * 5), `took ${taken} chats in ${elapsedS.toFixed(2)} s`)
  })

  it('survive the loss of their session: one whose ACK was lost with it goes again on the next session, and arrives once', async (t) => {
    const [a, b] = (await startNodes(t, 2, { ...MANUAL, messaging: { deliveryTimeoutMs: 20_000 } })) as [OverlayNode, OverlayNode]
    await wire([a, b], [[0, 1]])
    const got = chats([b])
    const first = a.session(b.nodeId) as OverlaySession
    // a's end of the session goes (as when heartbeats declare it dead) as the chat arrives at b:
    // b's ACK, queued for this turn, reaches a session a has closed, and is ignored.
    b.once('chat', () => first.destroy())
    const receipt = a.send(b.nodeId, 'across a reconnect')
    await nextEvent(first, 'close')
    assert.equal(a.services.direct.pendingCount, 1, 'the ACK was lost with the session')
    const second = await a.connect(b.address)
    assert.notEqual(second, first)
    const delivered = await within(5_000, receipt, 'the acknowledgement on the second session')
    assert.equal(delivered.via, 'session')
    assert.equal(a.stats().direct.resent, 1)
    assert.equal(b.stats().rejected['chat-duplicate'], 1, 'the repeat reached b, which acknowledged it without delivering it again')
    assert.deepEqual(got.get(b.nodeId), [`d:${a.nodeId.slice(0, 6)}:across a reconnect`])
  })
})

describe('broadcast', () => {
  it('reaches every node exactly once in a network that is not a full mesh (12 nodes, ring with chords)', async (t) => {
    const nodes = await startNodes(t, 12, MANUAL)
    await wire(nodes, ringWithChords(12, 3))
    assert.ok(nodes.every((n) => n.sessions().length < 11), 'not a full mesh')
    const got = chats(nodes)
    const origin = nodes[0] as OverlayNode
    const { sentTo } = origin.broadcast('to everyone')
    assert.equal(sentTo, origin.sessions().length)
    const second = nodes[7] as OverlayNode
    second.broadcast('and again')
    const expected = (n: OverlayNode): string[] =>
      [n === origin ? null : `b:${origin.nodeId.slice(0, 6)}:to everyone`, n === second ? null : `b:${second.nodeId.slice(0, 6)}:and again`].filter((x) => x !== null).sort()
    await until(() => nodes.every((n) => (got.get(n.nodeId) ?? []).length === expected(n).length), 5_000, 'every node to receive both')
    // Duplicates arrive over the other paths and are dropped; give them time to arrive by waiting for the last one.
    await until(() => nodes.reduce((s, n) => s + n.stats().broadcast.duplicates + n.stats().broadcast.delivered, 0) >= 2 * 11, 5_000, 'the flood to settle')
    for (const node of nodes) assert.deepEqual([...(got.get(node.nodeId) ?? [])].sort(), expected(node), `${node.name} got each once`)
    const dup = nodes.reduce((s, n) => s + n.stats().broadcast.duplicates, 0)
    assert.ok(dup > 0, 'there were other paths (duplicates were dropped)')
  })

  it('respects the hop limit', async (t) => {
    const nodes = await startNodes(t, 5, { ...MANUAL, messaging: { hopLimit: 2 } })
    await wire(nodes, line(5))
    const got = chats(nodes)
    const stop = nextEvent(nodes[2] as OverlayNode, 'chat')
    ;(nodes[0] as OverlayNode).broadcast('two hops only')
    await stop
    await until(() => (nodes[2] as OverlayNode).stats().broadcast.delivered === 1, 2_000, 'the second hop')
    // The third node got it with no hops left: it does not forward.
    assert.equal((nodes[2] as OverlayNode).stats().broadcast.forwarded, 0)
    assert.deepEqual(got.get((nodes[3] as OverlayNode).nodeId), [])
  })
})

describe('forged, replayed and malformed messages', () => {
  it('are dropped and not forwarded', async (t) => {
    const ca = await networkCa()
    const nodes = await startNodes(t, 3, MANUAL)
    await wire(nodes, line(3))
    const [victim, middle, far] = nodes as [OverlayNode, OverlayNode, OverlayNode]
    const rogueCreds = testCredentials(ca, 'rogue')
    const { channel } = await authenticatedRogue(t, victim, rogueCreds)
    const rejected: string[] = []
    victim.on('input:rejected', (reason) => rejected.push(reason))
    const reachedOthers: string[] = []
    for (const n of [middle, far]) n.on('message', (m) => (m.type === MessageType.Broadcast || m.type === MessageType.Routed) && reachedOthers.push(`${n.name}:${m.payload.toString()}`))

    const send = (m: Message): void => {
      const { type, body } = encodeMessage(m)
      channel.sendFrame(type, body)
    }
    // A broadcast "from" the middle node, signed by the rogue.
    const forged = { type: MessageType.Broadcast, ...signBroadcast(rogueCreds.identity, { seq: Date.now() * 1000, kind: BroadcastKind.Chat, payload: Buffer.from('forged') }), origin: middle.nodeId, hopLimit: 8 } satisfies BroadcastMessage
    send(forged)
    // A genuine broadcast from the rogue, altered on the way.
    const genuine = { type: MessageType.Broadcast, ...signBroadcast(rogueCreds.identity, { seq: Date.now() * 1000 + 1, kind: BroadcastKind.Chat, payload: Buffer.from('genuine') }), hopLimit: 8 } satisfies BroadcastMessage
    send({ ...genuine, payload: Buffer.from('altered') })
    // A routed message to the far node "from" the middle one.
    send({ type: MessageType.Routed, ...signRouted(rogueCreds.identity, { target: far.nodeId, id: '00000000000000aa', kind: RoutedKind.Chat, payload: Buffer.from('psst') }), origin: middle.nodeId, hopLimit: 8 })
    // A broadcast a day old: outside the replay window whatever the caches remember.
    send({ type: MessageType.Broadcast, ...signBroadcast(rogueCreds.identity, { seq: (Date.now() - 86_400_000) * 1000, kind: BroadcastKind.Chat, payload: Buffer.from('stale') }), hopLimit: 8 })
    await until(() => rejected.length >= 4, 5_000, 'four rejections')
    assert.deepEqual(rejected.sort(), ['broadcast-forged', 'broadcast-forged', 'broadcast-stale', 'routed-forged'])

    // The genuine one goes through once; its replay is a duplicate, dropped.
    const arrived = nextEvent<[ChatEvent]>(far, 'chat')
    send(genuine)
    assert.equal((await arrived)[0].text, 'genuine')
    const dupsBefore = victim.stats().broadcast.duplicates
    send(genuine)
    await until(() => victim.stats().broadcast.duplicates === dupsBefore + 1, 5_000, 'the replay dropped as a duplicate')
    assert.deepEqual(reachedOthers.sort(), [`${far.name}:genuine`, `${middle.name}:genuine`].sort(), 'nothing forged, altered, stale or replayed was forwarded; the genuine one once')

    // Malformed: a BROADCAST body cut short closes the rogue's session, and only that one.
    const down = nextEvent<[OverlaySession, OverlayError | null]>(victim, 'session:down', (s) => s.peerId === rogueCreds.identity.nodeId)
    const body = Buffer.from(encodeMessage(genuine).body)
    channel.sendFrame(MessageType.Broadcast, body.subarray(0, body.length - 3))
    assert.equal((await down)[1]?.code, 'OVL_FRAME_MALFORMED')
    assert.equal(victim.sessions().length, 1, 'the honest neighbour keeps its session')
    await victim.send(far.nodeId, 'still routing')
  })

  it('a replay the de-duplication cache has forgotten is refused by the per-origin window', async () => {
    const { Broadcaster } = await import('../../src/messaging/broadcast.js')
    const origin = Identity.generate()
    const broadcaster = new Broadcaster({ identity: Identity.generate(), sessions: () => [], seenMax: 2 })
    const from = { peerId: origin.nodeId } as never
    const delivered: number[] = []
    const dropped: string[] = []
    broadcaster.on('delivered', (d) => delivered.push(d.seq))
    broadcaster.on('dropped', (reason) => dropped.push(reason))
    const make = (seq: number): BroadcastMessage => ({ type: MessageType.Broadcast, ...signBroadcast(origin, { seq, kind: BroadcastKind.Chat, payload: Buffer.from(`#${seq}`) }), hopLimit: 4 })
    const base = Date.now() * 1000
    const first = make(base)
    broadcaster.onMessage(from, first)
    for (let i = 1; i <= 5; i++) broadcaster.onMessage(from, make(base + i)) // pushes the first out of the 2-entry cache
    broadcaster.onMessage(from, first)
    assert.deepEqual(delivered, [0, 1, 2, 3, 4, 5].map((i) => base + i))
    assert.deepEqual(dropped, ['broadcast-replayed'])
    // Out of order within the window is fine: broadcasts take different paths.
    broadcaster.onMessage(from, make(base - 10))
    assert.equal(delivered.at(-1), base - 10)
  })
})
