// Warning thresholds: the judgement (pure), the METRIC_WARNING codec, the
// state of raised warnings, the broadcast rate limit and the received ones
// (with controlled clocks), then the service between real nodes, driven
// evaluation by evaluation: raised, broadcast, shown at a peer naming its
// origin, cleared. No test waits for time to pass.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { OverlayError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import { silentLogger } from '../../src/log/logger.js'
import { BroadcastKind } from '../../src/messaging/messages.js'
import { ActiveWarnings } from '../../src/metrics/active-warnings.js'
import { BroadcastLimiter } from '../../src/metrics/broadcast-limiter.js'
import { DEFAULT_THRESHOLDS, MAX_REMOTE_WARNINGS, MAX_WARNING_BROADCASTS_PER_EVALUATION, MIN_HEARTBEATS_FOR_LOSS, REMOTE_WARNING_TTL_MS, type ThresholdSettings } from '../../src/metrics/defaults.js'
import { RemoteWarnings } from '../../src/metrics/remote-warnings.js'
import { readingsOver, type MetricSample } from '../../src/metrics/thresholds.js'
import { decodeWarning, encodeWarning, MAX_WARNING_PAYLOAD_BYTES, type WarningPayload } from '../../src/metrics/warning-codec.js'
import type { Warning } from '../../src/metrics/warning.js'
import { WarningService } from '../../src/metrics/warnings.js'
import type { OverlayNode } from '../../src/node/node.js'
import { MANUAL, startNodes, wire } from '../helpers/network.js'
import { nextEvent } from '../helpers/wait.js'

const OFF: ThresholdSettings = { ...DEFAULT_THRESHOLDS, rttMs: null, heartbeatLossRatio: null, minPeers: null, peerMessagesPerSecond: null, relayShare: null }
const PEER = Identity.generate().nodeId
const OTHER = Identity.generate().nodeId

function sample(peers: Array<Partial<MetricSample['peers'][number]>>, heartbeats = { answered: 0, missed: 0 }): MetricSample {
  return { peers: peers.map((p, i) => ({ id: i === 0 ? PEER : OTHER, rttMs: null, messagesPerSecond: 0, link: 'direct', ...p })), heartbeats }
}

describe('thresholds', () => {
  it('judge each metric against its threshold, and a null threshold is off', () => {
    assert.deepEqual(readingsOver(sample([{ rttMs: 600 }, { rttMs: 400 }]), { ...OFF, rttMs: 500 }), [{ metric: 'rtt', subject: PEER, value: 600, threshold: 500 }])
    assert.deepEqual(readingsOver(sample([{ rttMs: 600 }]), OFF), [])
    assert.deepEqual(readingsOver(sample([{ messagesPerSecond: 1500 }]), { ...OFF, peerMessagesPerSecond: 1000 }), [{ metric: 'peer-message-rate', subject: PEER, value: 1500, threshold: 1000 }])
    assert.deepEqual(readingsOver(sample([{}]), { ...OFF, minPeers: 2 }), [{ metric: 'few-peers', subject: null, value: 1, threshold: 2 }])
    assert.deepEqual(readingsOver(sample([{}, {}]), { ...OFF, minPeers: 2 }), [])
    assert.deepEqual(readingsOver(sample([{ link: 'relayed' }, { link: 'direct' }]), { ...OFF, relayShare: 0.4 }), [{ metric: 'relay-share', subject: null, value: 0.5, threshold: 0.4 }])
    assert.deepEqual(readingsOver(sample([]), { ...OFF, relayShare: 0 }), [], 'no sessions: no share')
  })

  it(`judge heartbeat loss only over at least ${MIN_HEARTBEATS_FOR_LOSS} heartbeats`, () => {
    const settings = { ...OFF, heartbeatLossRatio: 0.2 }
    const n = MIN_HEARTBEATS_FOR_LOSS
    assert.deepEqual(readingsOver(sample([{}], { answered: 1, missed: n - 2 }), settings), [], 'too few to say')
    assert.deepEqual(readingsOver(sample([{}], { answered: n * 0.6, missed: n * 0.4 }), settings), [{ metric: 'heartbeat-loss', subject: null, value: 0.4, threshold: 0.2 }])
    assert.deepEqual(readingsOver(sample([{}], { answered: n * 0.8, missed: n * 0.2 }), settings), [], 'exactly at the threshold is not over it')
  })
})

describe('the METRIC_WARNING payload', () => {
  const raised: WarningPayload = { state: 'raised', metric: 'rtt', subject: PEER, value: 812.5, threshold: 500, since: 1_795_000_000_000 }

  it('round-trips, with and without a subject, within its size bound', () => {
    const bytes = encodeWarning(raised)
    assert.equal(bytes.length, MAX_WARNING_PAYLOAD_BYTES)
    assert.deepEqual(decodeWarning(bytes), raised)
    const cleared: WarningPayload = { state: 'cleared', metric: 'few-peers', subject: null, value: 1, threshold: 2, since: 5 }
    assert.deepEqual(decodeWarning(encodeWarning(cleared)), cleared)
  })

  const good = encodeWarning(raised)
  const patched = (at: number, byte: number): Buffer => {
    const copy = Buffer.from(good)
    copy[at] = byte
    return copy
  }
  const infinite = Buffer.from(good)
  infinite.writeDoubleBE(Infinity, 3)
  const notAnId = Buffer.from(good)
  notAnId.write('1'.repeat(52), 28, 'ascii')
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['too short', good.subarray(0, 20)],
    ['another version', patched(0, 2)],
    ['an unknown state', patched(1, 3)],
    ['an unknown metric', patched(2, 99)],
    ['a value that is not finite', infinite],
    ['a subject of the wrong length', patched(27, 10)],
    ['a byte too many', Buffer.concat([good, Buffer.from([0])])],
    ['a byte too few', good.subarray(0, good.length - 1)],
    ['a subject that is not a node id', notAnId],
  ]
  for (const [what, bytes] of cases) {
    it(`refuses ${what} with OVL_METRIC_WARNING_MALFORMED`, () => {
      assert.throws(() => decodeWarning(bytes), (err: OverlayError) => err.code === 'OVL_METRIC_WARNING_MALFORMED')
    })
  }
})

describe('warning state', () => {
  it('raises once, follows the figures while over, clears when under', () => {
    let now = 1_000
    const active = new ActiveWarnings({ origin: PEER, originName: 'a', nameOf: (id) => (id === OTHER ? 'b' : null), now: () => now })
    const over = { metric: 'rtt' as const, subject: OTHER, value: 600, threshold: 500 }
    const first = active.update([over])
    assert.equal(first.raised.length, 1)
    assert.equal(first.raised[0]?.text, 'round trip to b 600 ms (threshold 500 ms)')
    assert.equal(first.raised[0]?.since, 1_000)
    now = 2_000
    assert.deepEqual(active.update([{ ...over, value: 700 }]), { raised: [], cleared: [] })
    assert.equal(active.list()[0]?.value, 700)
    assert.equal(active.list()[0]?.since, 1_000, 'raised when it was first over')
    const cleared = active.update([])
    assert.equal(cleared.cleared[0]?.key, first.raised[0]?.key)
    assert.deepEqual(active.list(), [])
  })
})

describe('the broadcast rate limit', () => {
  const sendAll = (sent: string[]) => (item: string) => {
    sent.push(item)
    return true
  }

  it('sends a change at once, holds the next one for the interval, sends only the latest, never a state twice', () => {
    const limiter = new BroadcastLimiter<string>(1_000, 10)
    const sent: string[] = []
    limiter.offer('k', 'raised', 'raise 1')
    assert.equal(limiter.flush(0, sendAll(sent)), 1)
    limiter.offer('k', 'cleared', 'clear 1')
    limiter.flush(500, sendAll(sent))
    limiter.offer('k', 'raised', 'raise 2')
    limiter.offer('k', 'cleared', 'clear 2')
    limiter.flush(999, sendAll(sent))
    assert.deepEqual(sent, ['raise 1'], 'held within the interval')
    limiter.flush(1_000, sendAll(sent))
    assert.deepEqual(sent, ['raise 1', 'clear 2'], 'the latest state when the interval ends')
    limiter.offer('k', 'cleared', 'clear 3')
    limiter.flush(5_000, sendAll(sent))
    assert.deepEqual(sent, ['raise 1', 'clear 2'], 'the network has that state already')
    assert.equal(limiter.heldCount, 0)
  })

  it('never tells of a warning cleared before it went out, and keeps what nobody could take', () => {
    const limiter = new BroadcastLimiter<string>(1_000, 10)
    const sent: string[] = []
    limiter.offer('k', 'raised', 'raise')
    limiter.flush(0, () => false) // no peer yet
    assert.equal(limiter.heldCount, 1)
    limiter.flush(10, sendAll(sent))
    assert.deepEqual(sent, ['raise'], 'sent once a peer could take it')
    limiter.offer('j', 'raised', 'raise j')
    limiter.offer('j', 'cleared', 'clear j')
    limiter.flush(20, sendAll(sent))
    assert.deepEqual(sent, ['raise'], 'j never reached anyone: its clearing is not news')
  })

  it(`sends at most ${MAX_WARNING_BROADCASTS_PER_EVALUATION} per flush; the rest wait`, () => {
    const limiter = new BroadcastLimiter<string>(1_000, MAX_WARNING_BROADCASTS_PER_EVALUATION)
    const sent: string[] = []
    for (let i = 0; i < MAX_WARNING_BROADCASTS_PER_EVALUATION + 3; i++) limiter.offer(`k${i}`, 'raised', `w${i}`)
    assert.equal(limiter.flush(0, sendAll(sent)), MAX_WARNING_BROADCASTS_PER_EVALUATION)
    assert.equal(limiter.flush(1, sendAll(sent)), 3)
    assert.deepEqual(sent.slice(0, 2), ['w0', 'w1'], 'oldest first')
  })
})

describe('received warnings', () => {
  const payload = (subject: string | null, state: 'raised' | 'cleared' = 'raised'): WarningPayload => ({ state, metric: 'rtt', subject, value: 600, threshold: 500, since: 1 })
  const names = { origin: 'a', subject: null }

  it('are kept until cleared, updated without a second "new"', () => {
    const remote = new RemoteWarnings()
    assert.equal(remote.apply(PEER, payload(OTHER), names).isNew, true)
    assert.equal(remote.apply(PEER, payload(OTHER), names).isNew, false)
    assert.equal(remote.list()[0]?.originName, 'a')
    assert.equal(remote.list()[0]?.local, false)
    remote.apply(PEER, payload(OTHER, 'cleared'), names)
    assert.equal(remote.size, 0)
  })

  it(`are forgotten ${REMOTE_WARNING_TTL_MS / 60_000} minutes after their origin last spoke, and at most ${MAX_REMOTE_WARNINGS} are kept`, () => {
    let now = 1_000
    const remote = new RemoteWarnings({ now: () => now })
    remote.apply(PEER, payload(null), names)
    now += REMOTE_WARNING_TTL_MS - 1
    assert.equal(remote.list().length, 1)
    now += 2
    assert.equal(remote.list().length, 0)
    const bounded = new RemoteWarnings()
    for (let i = 0; i < MAX_REMOTE_WARNINGS + 10; i++) bounded.apply(Identity.generate().nodeId, payload(null), names)
    assert.equal(bounded.size, MAX_REMOTE_WARNINGS)
  })
})

describe('the warning service between real nodes', () => {
  function service(t: { after(fn: () => void): void }, node: OverlayNode, settings: Partial<ThresholdSettings>, clock: { now: number }): WarningService {
    const s = new WarningService({ node, settings: { ...OFF, ...settings }, logger: silentLogger, now: () => clock.now })
    t.after(() => s.close())
    return s
  }

  it('raises, broadcasts a signed METRIC_WARNING that a peer shows naming its origin, and reports the clearing', async (t) => {
    const nodes = await startNodes(t, 3, MANUAL)
    const [a, b, c] = nodes as [OverlayNode, OverlayNode, OverlayNode]
    await wire(nodes, [[1, 0]])
    const clock = { now: 1_000_000 }
    const atA = service(t, a, { minPeers: 2, broadcastIntervalMs: 1_000 }, clock)
    const atB = service(t, b, {}, clock)

    const raisedAtB = nextEvent<[Warning]>(atB, 'raised')
    const first = atA.evaluate()
    assert.deepEqual(first.raised.map((w) => [w.metric, w.value, w.local]), [['few-peers', 1, true]])
    const [remote] = await raisedAtB
    assert.equal(remote.origin, a.nodeId)
    assert.equal(remote.originName, 'n0', 'b names the origin')
    assert.equal(remote.local, false)
    assert.equal(remote.text, '1 peer with a session (fewer than 2)')
    assert.deepEqual(atB.active().map((w) => w.key), [first.raised[0]?.key])

    await wire(nodes, [[2, 0]])
    const clearedAtB = nextEvent<[Warning]>(atB, 'cleared')
    const second = atA.evaluate()
    assert.deepEqual(second.cleared.map((w) => w.metric), ['few-peers'])
    clock.now += 999
    atA.evaluate()
    assert.equal(atB.active().length, 1, 'the clearing waits out the broadcast interval')
    clock.now += 1
    atA.evaluate()
    const [cleared] = await clearedAtB
    assert.equal(cleared.origin, a.nodeId)
    assert.deepEqual(atB.active(), [])
    void c
  })

  it('ignores its own kind of broadcast when malformed, saying why', async (t) => {
    const nodes = await startNodes(t, 2, MANUAL)
    await wire(nodes, [[1, 0]])
    const atB = service(t, nodes[1]!, {}, { now: 0 })
    const rejected = nextEvent<[OverlayError, string]>(atB, 'rejected')
    nodes[0]!.services.broadcast.broadcast(BroadcastKind.MetricWarning, Buffer.from('not a warning'))
    const [error, from] = await rejected
    assert.equal(error.code, 'OVL_METRIC_WARNING_MALFORMED')
    assert.equal(from, nodes[0]!.nodeId)
    assert.deepEqual(atB.active(), [])
  })

  it('evaluates on its timer until closed', async (t) => {
    const [node] = await startNodes(t, 1, MANUAL)
    t.mock.timers.enable({ apis: ['setInterval'] })
    const s = service(t, node!, { minPeers: 1, evaluateIntervalMs: 1_000, broadcast: false }, { now: 0 })
    const raised: Warning[] = []
    s.on('raised', (w) => raised.push(w))
    s.start()
    t.mock.timers.tick(999)
    assert.equal(raised.length, 0)
    t.mock.timers.tick(1)
    assert.equal(raised.length, 1, 'the first evaluation, one interval after start')
    s.close()
    s.on('cleared', () => assert.fail('no evaluation after close'))
    t.mock.timers.tick(10_000)
    assert.deepEqual(s.evaluate(), { raised: [], cleared: [] }, 'closed: nothing more')
  })
})
