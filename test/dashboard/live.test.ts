// Live updates and the dashboard's limits: a change reaches a subscribed
// client within a second, without a reload; the number of live clients, a
// stalled client's backlog, and every list the page shows are bounded.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, it } from 'node:test'
import { HISTORY_SAMPLES, MAX_CLIENT_BACKLOG_BYTES, MAX_LIVE_CLIENTS, MAX_MAP_KNOWN_PEERS, RECENT_MESSAGES, SHOWN_TEXT_CHARS } from '../../src/dashboard/defaults.js'
import { LiveHub } from '../../src/dashboard/live.js'
import { RecentMisses } from '../../src/dashboard/misses.js'
import { RecentActivity, type MessageView } from '../../src/dashboard/recent.js'
import { SeriesRecorder } from '../../src/dashboard/series.js'
import { buildState, type DashboardState, type StateNode } from '../../src/dashboard/state.js'
import { Identity } from '../../src/identity/identity.js'
import { AddressKind, NatType } from '../../src/messaging/peer-record.js'
import type { ChatEvent, OverlayNode } from '../../src/node/node.js'
import { MANUAL, startNodes, wire } from '../helpers/network.js'
import { until } from '../helpers/wait.js'
import { codeOf, EventStream, request } from './support/http.js'
import { access, operatorFor } from './support/operator.js'

describe('live updates', () => {
  it('reach a subscribed client within a second of a change: sessions, messages, warnings', async (t) => {
    const nodes = await startNodes(t, 3, MANUAL)
    const [a, b, c] = nodes as [OverlayNode, OverlayNode, OverlayNode]
    const operator = await operatorFor(t, a, { thresholds: { minPeers: 2, broadcast: false } })
    const { port, bearer } = access(operator)
    const stream = new EventStream(port, bearer)
    t.after(() => stream.close())
    assert.equal((await stream.response).headers['content-type'], 'text/event-stream; charset=utf-8')
    const first = await stream.next<DashboardState>('state')
    assert.deepEqual(first.peers, [], 'everything at once on connect')
    await stream.next<unknown[]>('series')

    const upAt = Date.now()
    await wire(nodes, [[1, 0]])
    await stream.next<DashboardState>('state', (s) => s.peers.some((p) => p.id === b.nodeId), 1_000)
    t.diagnostic(`a new session shown ${Date.now() - upAt} ms after it was dialed`)

    const sentAt = Date.now()
    await b.send(a.nodeId, 'live?')
    await stream.next<DashboardState>('state', (s) => s.messages.some((m) => m.text === 'live?' && m.from === b.nodeId), 1_000)
    t.diagnostic(`a message shown ${Date.now() - sentAt} ms after it was sent`)

    operator.warnings.evaluate()
    await stream.next<DashboardState>('state', (s) => s.warnings.some((w) => w.metric === 'few-peers'), 1_000)
    await wire(nodes, [[2, 0]])
    operator.warnings.evaluate()
    await stream.next<DashboardState>('state', (s) => s.warnings.length === 0 && s.peers.length === 2, 1_000)
    void c

    const point = await stream.next<{ t: number; rtt: Record<string, number | null>; inPerS: number }>('sample', (p) => b.nodeId in p.rtt, 2_500)
    assert.ok(point.inPerS >= 0)
  })

  it(`serves at most ${MAX_LIVE_CLIENTS} live clients at once`, async (t) => {
    const [node] = await startNodes(t, 1, MANUAL)
    const operator = await operatorFor(t, node!)
    const { port, bearer } = access(operator)
    const streams = Array.from({ length: MAX_LIVE_CLIENTS }, () => new EventStream(port, bearer))
    t.after(() => streams.forEach((s) => s.close()))
    await Promise.all(streams.map((s) => s.next('state')))
    const refused = await request({ port, path: '/api/events', headers: bearer })
    assert.equal(refused.status, 503)
    assert.equal(codeOf(refused), 'OVL_DASHBOARD_BUSY')
    streams[0]!.close()
    await until(() => operator.dashboard!.liveClients === MAX_LIVE_CLIENTS - 1, 5_000, 'the closed client to be let go')
    const again = new EventStream(port, bearer)
    t.after(() => again.close())
    await again.next('state')
  })

  it('drops a client that falls more than the backlog limit behind, instead of buffering for it', () => {
    const hub = new LiveHub({ maxClients: 4, keepaliveMs: 60_000, maxBacklogBytes: MAX_CLIENT_BACKLOG_BYTES })
    const fake = () => {
      const res = Object.assign(new EventEmitter(), { writableLength: 0, destroyed: false, writeHead() {}, write() {}, end() {}, destroy() { this.destroyed = true } })
      return { req: new EventEmitter() as IncomingMessage, res }
    }
    const fast = fake()
    const stalled = fake()
    hub.add(fast.req, fast.res as unknown as ServerResponse)
    hub.add(stalled.req, stalled.res as unknown as ServerResponse)
    stalled.res.writableLength = MAX_CLIENT_BACKLOG_BYTES
    hub.send('state', {})
    assert.equal(hub.size, 2, 'at the limit: kept')
    stalled.res.writableLength = MAX_CLIENT_BACKLOG_BYTES + 1
    hub.send('state', {})
    assert.equal(hub.size, 1)
    assert.equal(stalled.res.destroyed, true)
    assert.equal(fast.res.destroyed, false)
    hub.close()
  })
})

describe('what the page shows is bounded', () => {
  const me = { id: 'self', name: 'self' }
  const chat = (text: string): ChatEvent => ({ from: 'x', text, via: 'session', hops: 1, broadcast: true })
  const sent = (text: string): MessageView => ({ at: 0, direction: 'out', from: 'self', fromName: 'self', to: 'x', toName: null, text, broadcast: false, via: null, hops: null, status: 'delivered', error: null })

  it(`keeps the last ${RECENT_MESSAGES} messages, each cut to ${SHOWN_TEXT_CHARS} characters`, () => {
    const recent = new RecentActivity({ self: me, messages: RECENT_MESSAGES, downPeers: 4, shownChars: SHOWN_TEXT_CHARS })
    for (let i = 0; i < RECENT_MESSAGES + 5; i++) recent.received(chat(`m${i}`), i)
    const kept = recent.messages()
    assert.equal(kept.length, RECENT_MESSAGES)
    assert.deepEqual([kept[0]?.text, kept[0]?.at, kept[0]?.direction], ['m5', 5, 'in'], 'the oldest go first')
    recent.sent(sent('x'.repeat(SHOWN_TEXT_CHARS + 10)))
    assert.equal(recent.messages().at(-1)?.text, `${'x'.repeat(SHOWN_TEXT_CHARS)}…`)
    assert.equal(recent.messages().at(-1)?.direction, 'out')
    for (let i = 0; i < 6; i++) recent.peerDown({ id: `p${i}`, name: `p${i}`, address: '', at: i, reason: 'closed' })
    assert.equal(recent.downPeers().length, 4, 'down peers too')
    recent.peerUp('p5')
    assert.equal(recent.downPeers().length, 3, 'a peer back up leaves the list')
  })

  it(`keeps ${HISTORY_SAMPLES} chart points, with rates from the node's counters`, () => {
    let now = 0
    let frames = 0
    const node = { stats: () => ({ framesIn: frames, framesOut: frames * 2 }), peers: () => [{ id: 'p', rttMs: 1.5 }] } as unknown as Pick<OverlayNode, 'stats' | 'peers'>
    const series = new SeriesRecorder(node, HISTORY_SAMPLES, () => now)
    for (let i = 0; i < HISTORY_SAMPLES + 10; i++) {
      now += 1_000
      frames += 50
      series.record()
    }
    const points = series.points()
    assert.equal(points.length, HISTORY_SAMPLES)
    assert.deepEqual(points.at(-1), { t: now, rtt: { p: 1.5 }, inPerS: 50, outPerS: 100 })
  })

  it('colours a link by its recent misses only, and remembers a bounded number', () => {
    let now = 1_000
    const misses = new RecentMisses({ windowMs: 10_000, maxPeers: 2, maxPerPeer: 3, now: () => now })
    for (let i = 0; i < 5; i++) misses.missed('a')
    assert.equal(misses.count('a'), 3, 'at most maxPerPeer per peer')
    now += 10_001
    assert.equal(misses.count('a'), 0, 'old misses no longer count')
    misses.missed('b')
    misses.missed('c')
    misses.missed('d')
    assert.equal(misses.count('b'), 0, 'at most maxPeers peers')
    assert.equal(misses.count('d'), 1)
  })

  it(`draws at most ${MAX_MAP_KNOWN_PEERS} peers from the cache, most recently seen first, and counts them all`, () => {
    const self = Identity.generate()
    const known = Array.from({ length: MAX_MAP_KNOWN_PEERS + 50 }, (_, i) => ({
      record: { nodeId: Identity.generate().nodeId, name: `k${i}`, nat: NatType.Unknown, flags: 0, addresses: [{ kind: AddressKind.Local, address: `10.0.0.${i % 250}:9000` }], seq: 1, signature: Buffer.alloc(64) },
      firstSeen: 0,
      lastSeen: i,
      lastConnected: null,
      dialSuccesses: 0,
      dialFailures: 0,
      lastError: null,
      leftAt: null,
    }))
    const node = {
      nodeId: self.nodeId,
      name: 'self',
      running: false,
      self: { record: { nat: NatType.Easy, addresses: [{ kind: AddressKind.Observed, address: '198.51.100.7:9000' }] } },
      heartbeat: { intervalMs: 1_000, timeoutMs: 3_000 },
      peers: () => [],
      knownPeers: () => known,
      stats: () => ({ uptimeS: 1, knownPeers: known.length, sessions: 0, bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, rejected: {} }),
    } as unknown as StateNode
    const state = buildState({ node, recent: new RecentActivity({ self: me, messages: 1, downPeers: 1, shownChars: 10 }), misses: new RecentMisses({ windowMs: 1, maxPeers: 1, maxPerPeer: 1 }), warnings: () => [], rttWarnMs: null })
    assert.equal(state.known.length, MAX_MAP_KNOWN_PEERS)
    assert.equal(state.knownTotal, MAX_MAP_KNOWN_PEERS + 50)
    assert.equal(state.known[0]?.name, `k${MAX_MAP_KNOWN_PEERS + 49}`)
    assert.equal(state.self.nat, 'easy')
    assert.deepEqual(state.self.addresses, [{ kind: 'observed', address: '198.51.100.7:9000' }])
  })
})
