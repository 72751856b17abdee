/**
 * The soak's checker, on synthetic runs: the trend test must catch a leak and
 * pass flat, noisy and saturating series; the message ledger must catch a
 * lost, duplicated or missed message and excuse only what churn explains; a
 * peer:down is false unless the peer was being churned. A checker that
 * cannot fail proves nothing, so most cases here are failures.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RESOURCE_METRICS, resourceTrends, verdict, type ResourceRow, type VerdictInput } from '../../scripts/soak/analysis.js'
import { Ledger } from '../../scripts/soak/ledger.js'
import { Timeline } from '../../scripts/soak/timeline.js'
import { MIN_TREND_SAMPLES, theilSenSlope, trend, type Point } from '../../scripts/soak/trend.js'

/** A deterministic noise source (the tests must not flake). */
function noise(seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31
    return x / 2 ** 31 - 0.5
  }
}

function series(seconds: number, everyS: number, value: (t: number) => number): Point[] {
  const points: Point[] = []
  for (let t = 0; t <= seconds; t += everyS) points.push({ t, v: value(t) })
  return points
}

const MiB_TOLERANCE = { absolute: 3, relative: 0.1 }

describe('trend check', () => {
  it('fails a steady leak, even under noise', () => {
    const jitter = noise(1)
    // 30 MiB of heap growing 1 MiB a minute over a 30-minute window, +-1 MiB of noise.
    const points = series(3600, 30, (t) => 30 + t / 60 + 2 * jitter())
    const result = trend(points, 1800, 3600, MiB_TOLERANCE)
    assert.equal(result.ok, false)
    assert.ok(Math.abs(result.slopePerS * 60 - 1) < 0.1, `slope ${result.slopePerS * 60} MiB/min`)
    assert.match(result.reason ?? '', /grows .* per hour/)
  })

  it('fails a leak of one timer per minute in a count that is otherwise flat', () => {
    const points = series(7200, 60, (t) => 8 + Math.floor(t / 60))
    assert.equal(trend(points, 3600, 7200, { absolute: 8, relative: 0.25 }).ok, false)
  })

  it('passes a flat series with noise and outliers (a late GC, a burst)', () => {
    const jitter = noise(2)
    const points = series(3600, 30, (t) => 30 + 2 * jitter() + (t % 900 === 0 ? 12 : 0))
    const result = trend(points, 1800, 3600, MiB_TOLERANCE)
    assert.equal(result.ok, true, result.reason ?? '')
    assert.ok(Math.abs(result.growth) < 1)
  })

  it('passes a sawtooth (a cache filled and emptied again and again)', () => {
    const points = series(3600, 20, (t) => 100 + ((t / 20) % 15))
    assert.equal(trend(points, 1800, 3600, { absolute: 16, relative: 0.1 }).ok, true)
  })

  it('passes growth that has levelled off before the window (start-up, caches filling)', () => {
    const points = series(3600, 30, (t) => 30 + 20 * (1 - Math.exp(-t / 300)))
    assert.equal(trend(points, 1800, 3600, MiB_TOLERANCE).ok, true)
  })

  it('fails a step up in a count that should not move (a leaked handle) only beyond its tolerance', () => {
    const handles = (extra: number) => series(600, 10, (t) => 5 + Math.floor((Math.max(0, t - 300) / 300) * extra))
    assert.equal(trend(handles(1), 300, 600, { absolute: 2, relative: 0 }).ok, true, 'one more handle: within the tolerance')
    assert.equal(trend(handles(6), 300, 600, { absolute: 2, relative: 0 }).ok, false, 'six more, steadily: a leak')
  })

  it('refuses to judge on too few samples (a failure, not a pass)', () => {
    const points = series(100, 50, () => 1)
    const result = trend(points, 0, 100, MiB_TOLERANCE)
    assert.ok(result.samples < MIN_TREND_SAMPLES)
    assert.equal(result.ok, false)
    assert.match(result.reason ?? '', /samples/)
  })

  it('judges only the window', () => {
    // Steep growth in the first half (start-up), flat in the second.
    const points = series(1200, 10, (t) => (t < 600 ? t / 10 : 60))
    assert.equal(trend(points, 600, 1200, MiB_TOLERANCE).ok, true)
    assert.equal(trend(points, 0, 1200, MiB_TOLERANCE).ok, false)
  })

  it('Theil-Sen ignores a minority of wild points', () => {
    const points = series(100, 1, (t) => 2 * t)
    for (const i of [10, 40, 70]) (points[i] as Point).v = 1e6
    assert.ok(Math.abs(theilSenSlope(points) - 2) < 0.01)
  })
})

describe('resource trends per process', () => {
  function row(t: number, inc: string, heapMiB: number): ResourceRow {
    return { t, node: Number(inc.split('.')[0]), inc, rssMiB: 100, heapMiB, externalMiB: 4, handles: 5, timers: 8, fds: 31, streams: 4, sessions: 4, pendingDeliveries: 0, heartbeatsMissed: 0, peersDeclaredDown: 0 }
  }

  it('checks every metric of every process alive through the window, and catches the one that leaks', () => {
    const rows: ResourceRow[] = []
    for (let t = 0; t <= 60; t += 2) {
      rows.push(row(t, '0.0', 26))
      rows.push(row(t, '2.0', 26 + t / 5)) // +6 MiB over the 30 s window
      if (t < 20) rows.push(row(t, '1.0', 26 + t)) // churned away before the window: not judged
      if (t > 40) rows.push(row(t, '1.1', 26)) // came back inside it: too short to judge
    }
    const lifetimes = new Map([
      ['0.0', { start: 0, end: null }],
      ['2.0', { start: 0, end: 61 }],
      ['1.0', { start: 0, end: 20 }],
      ['1.1', { start: 40, end: null }],
    ])
    const checks = resourceTrends(rows, { from: 30, to: 60 }, lifetimes)
    assert.deepEqual([...new Set(checks.map((c) => c.inc))].sort(), ['0.0', '2.0'])
    assert.equal(checks.length, 2 * RESOURCE_METRICS.length)
    const failed = checks.filter((c) => !c.ok)
    assert.deepEqual(failed.map((c) => `${c.inc} ${c.metric}`), ['2.0 heapMiB'])
    assert.ok(verdict({ ...cleanVerdict(), trends: checks }).some((f) => f.startsWith('process 2.0: V8 heap')))
  })

  it('judges streams and timers beyond one per session: more sessions is not a leak, a stream without one is', () => {
    const rows: ResourceRow[] = []
    for (let t = 0; t <= 60; t += 2) {
      const sessions = 4 + Math.floor(t / 10) // the node takes up sessions: 4 to 10
      rows.push({ ...row(t, '0.0', 26), sessions, streams: sessions, timers: sessions + 4 })
      rows.push({ ...row(t, '2.0', 26), sessions: 4, streams: 4 + Math.floor(t / 6) }) // streams outlive their sessions
    }
    const lifetimes = new Map([
      ['0.0', { start: 0, end: null }],
      ['2.0', { start: 0, end: null }],
    ])
    const failed = resourceTrends(rows, { from: 30, to: 60 }, lifetimes).filter((c) => !c.ok)
    assert.deepEqual(failed.map((c) => `${c.inc} ${c.metric}`), ['2.0 streams'])
  })
})

/** A world where nodes 0..n-1 came up at 0 with peers and nobody churns, unless told. */
function world(n: number): Timeline {
  const timeline = new Timeline({ graceMs: 5_000 })
  for (let i = 0; i < n; i++) {
    timeline.start(i, 0)
    timeline.ready(i, 100)
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) timeline.peerUp(i, j, 200)
  return timeline
}

const OPTIONS = { settleMs: 3_000, directDeadlineMs: 30_000, broadcastSettleMs: 5_000, broadcastDeadlineMs: 35_000 }

describe('message ledger', () => {
  it('counts a clean exchange as clean', () => {
    const w = world(3)
    const ledger = new Ledger(OPTIONS)
    ledger.sendDirect('d1', 0, 1, 1_000)
    ledger.receivedDirect('d1', 1_002, { node: 1, key: '1.0' }, 0)
    ledger.acknowledged('d1', 1_003, 3)
    ledger.sendBroadcast('b1', 2, 1_100)
    ledger.broadcastSent('b1', 2, 1_100)
    ledger.receivedBroadcast('b1', 1_105, { node: 0, key: '0.0' }, 2)
    ledger.receivedBroadcast('b1', 1_106, { node: 1, key: '1.0' }, 2)
    ledger.judge(10_000, w)
    assert.equal(ledger.pending, 0)
    assert.deepEqual({ ...ledger.direct }, { sent: 1, acknowledged: 1, failed: 0, judged: 1, excluded: 0, lost: 0, duplicates: 0, failedHard: 0, failedDuringChurn: 0, ackLost: 0, unresolved: 0, wrongSender: 0 })
    assert.equal(ledger.broadcast.expected, 2)
    assert.equal(ledger.broadcast.delivered, 2)
    assert.deepEqual(ledger.propagationMs, [6])
    assert.deepEqual(verdict({ ...cleanVerdict(), direct: ledger.direct, broadcast: ledger.broadcast }), [])
  })

  it('catches a message acknowledged but never received, and one received twice', () => {
    const w = world(2)
    const ledger = new Ledger(OPTIONS)
    ledger.sendDirect('d1', 0, 1, 1_000)
    ledger.acknowledged('d1', 1_010, 10)
    ledger.sendDirect('d2', 1, 0, 1_000)
    ledger.acknowledged('d2', 1_010, 10)
    ledger.receivedDirect('d2', 1_005, { node: 0, key: '0.0' }, 1)
    ledger.receivedDirect('d2', 1_006, { node: 0, key: '0.0' }, 1)
    ledger.judge(2_000, w)
    assert.equal(ledger.pending, 2, 'not judged before the settle time')
    ledger.judge(5_000, w)
    assert.equal(ledger.direct.lost, 1)
    assert.equal(ledger.direct.duplicates, 1)
    assert.deepEqual(ledger.problems.map((p) => p.kind).sort(), ['direct-duplicate', 'direct-lost'])
    const failures = verdict({ ...cleanVerdict(), direct: ledger.direct })
    assert.ok(failures.some((f) => /acknowledged but never received/.test(f)))
    assert.ok(failures.some((f) => /duplicate direct/.test(f)))
  })

  it('fails a send that failed with nothing churned, excuses one that failed during churn', () => {
    const w = world(4)
    const ledger = new Ledger(OPTIONS)
    ledger.sendDirect('d1', 0, 1, 1_000)
    ledger.failed('d1', 11_000, 'OVL_TIMEOUT')
    w.stopping(3, 20_500, 'kill') // a relay goes away: node 3 is neither sender nor receiver
    ledger.sendDirect('d2', 0, 1, 20_000)
    ledger.failed('d2', 30_000, 'OVL_TIMEOUT')
    ledger.judge(40_000, w)
    assert.equal(ledger.direct.failedHard, 1)
    assert.equal(ledger.direct.failedDuringChurn, 1)
    assert.equal(ledger.problems[0]?.id, 'd1')
  })

  it('does not judge a message whose receiver was churned, and calls an unanswered send unresolved', () => {
    const w = world(3)
    const ledger = new Ledger(OPTIONS)
    ledger.sendDirect('d1', 0, 1, 1_000)
    w.stopping(1, 1_001, 'kill')
    ledger.acknowledged('d1', 1_002, 2)
    ledger.sendDirect('d2', 0, 2, 1_000)
    ledger.judge(40_000, w)
    assert.equal(ledger.direct.excluded, 1)
    assert.equal(ledger.direct.lost, 0)
    assert.equal(ledger.direct.unresolved, 1)
  })

  it('catches a broadcast missed by an eligible node, and one printed twice or by its origin', () => {
    const w = world(4)
    const ledger = new Ledger(OPTIONS)
    ledger.sendBroadcast('b1', 0, 1_000)
    ledger.broadcastSent('b1', 3, 1_000)
    ledger.receivedBroadcast('b1', 1_010, { node: 1, key: '1.0' }, 0)
    ledger.receivedBroadcast('b1', 1_011, { node: 1, key: '1.0' }, 0)
    ledger.receivedBroadcast('b1', 1_012, { node: 2, key: '2.0' }, 0)
    ledger.receivedBroadcast('b1', 1_013, { node: 0, key: '0.0' }, 0)
    ledger.judge(7_000, w)
    assert.equal(ledger.broadcast.expected, 3)
    assert.equal(ledger.broadcast.missed, 1, 'node 3 never printed it')
    assert.equal(ledger.broadcast.duplicates, 1)
    assert.equal(ledger.broadcast.toOrigin, 1)
    assert.equal(verdict({ ...cleanVerdict(), broadcast: ledger.broadcast }).length, 3)
  })

  it('owes a broadcast only to processes connected from send to judgement', () => {
    const w = world(4)
    w.stopping(3, 500, 'kill')
    w.exited(3, 600, null, 'SIGKILL')
    w.start(3, 700) // restarted: ready, but no peer until after the broadcast
    w.ready(3, 900)
    w.peerDown(2, 3, 3_500, 'OVL_HEARTBEAT_TIMEOUT')
    const ledger = new Ledger(OPTIONS)
    ledger.sendBroadcast('b1', 0, 1_000)
    ledger.broadcastSent('b1', 2, 1_000)
    w.peerUp(3, 0, 1_200)
    ledger.receivedBroadcast('b1', 1_010, { node: 1, key: '1.0' }, 0)
    ledger.receivedBroadcast('b1', 1_010, { node: 2, key: '2.0' }, 0)
    ledger.judge(7_000, w)
    assert.equal(ledger.broadcast.expected, 2)
    assert.equal(ledger.broadcast.missed, 0)
  })

  it('judges a broadcast from when its origin sent it, not from when it was asked (a node runs its commands in turn)', () => {
    const w = world(3)
    const ledger = new Ledger(OPTIONS)
    ledger.sendBroadcast('b1', 0, 1_000) // asked while node 0's `send` waits 10 s for an acknowledgement
    ledger.judge(7_000, w)
    assert.equal(ledger.pending, 1, 'not judged before the origin answered')
    ledger.broadcastSent('b1', 2, 11_000)
    ledger.receivedBroadcast('b1', 11_004, { node: 1, key: '1.0' }, 0)
    ledger.receivedBroadcast('b1', 11_006, { node: 2, key: '2.0' }, 0)
    ledger.judge(15_000, w)
    assert.equal(ledger.pending, 1, 'the 5 s settle time starts at the answer')
    ledger.judge(16_000, w)
    assert.equal(ledger.broadcast.missed, 0)
    assert.deepEqual(ledger.propagationMs, [10_006], 'propagation counts from the ask, waiting included')
  })

  it('judges a broadcast whose origin never answered at the deadline', () => {
    const w = world(2)
    const ledger = new Ledger(OPTIONS)
    ledger.sendBroadcast('b1', 0, 1_000)
    assert.equal(ledger.nextDue(), 36_000)
    ledger.judge(36_000, w)
    assert.equal(ledger.pending, 0)
    assert.equal(ledger.broadcast.missed, 1)
  })

  it('calls a message printed after it was judged late (it counted as missed or lost)', () => {
    const w = world(2)
    const ledger = new Ledger(OPTIONS)
    ledger.sendBroadcast('b1', 0, 1_000)
    ledger.broadcastSent('b1', 1, 1_000)
    ledger.judge(7_000, w)
    ledger.receivedBroadcast('b1', 8_000, { node: 1, key: '1.0' }, 0)
    assert.equal(ledger.broadcast.missed, 1)
    assert.equal(ledger.lateReceipts, 1)
  })
})

describe('false downs', () => {
  it('a relayed session that ends with its churned relay is expected, not false', () => {
    const w = world(4)
    w.stopping(3, 6_000, 'kill')
    w.exited(3, 6_010, null, 'SIGKILL')
    assert.equal(w.peerDown(0, 1, 9_000, 'OVL_HEARTBEAT_TIMEOUT', '', 3), null, 'its relay, node 3, was killed 3 s before')
    assert.equal(w.expectedDowns.get('OVL_HEARTBEAT_TIMEOUT (its relay churned)'), 1)
    assert.ok(w.peerDown(0, 2, 9_000, 'OVL_HEARTBEAT_TIMEOUT', '', 1), 'a relay that was left alone excuses nothing')
    // Long after the relay's churn began, the session may have become direct: a down then is false.
    assert.ok(w.peerDown(1, 2, 14_000, 'OVL_HEARTBEAT_TIMEOUT', '', 3), 'not excused 8 s after the relay was killed')
  })

  it('a peer:down of a live, unchurned peer is false; of a churned one, expected', () => {
    const w = world(3)
    assert.ok(w.peerDown(0, 1, 5_000, 'OVL_HEARTBEAT_TIMEOUT'), 'node 1 was alive and left alone')
    w.stopping(2, 6_000, 'kill')
    w.exited(2, 6_010, null, 'SIGKILL')
    assert.equal(w.peerDown(0, 2, 9_000, 'OVL_HEARTBEAT_TIMEOUT'), null)
    w.start(2, 10_000)
    w.ready(2, 11_000)
    assert.equal(w.peerDown(1, 2, 14_000, 'OVL_HEARTBEAT_TIMEOUT'), null, 'the old process timed out within the grace period')
    assert.ok(w.peerDown(1, 2, 17_000, 'OVL_HEARTBEAT_TIMEOUT'), 'after the grace period it is false again')
    assert.equal(w.falseDowns.length, 2)
    assert.deepEqual(Object.fromEntries(w.expectedDowns), { OVL_HEARTBEAT_TIMEOUT: 2 })
  })

  it('downs printed by a node that is itself stopping are not judged', () => {
    const w = world(2)
    w.stopping(0, 1_000, 'shutdown')
    assert.equal(w.peerDown(0, 1, 1_001, 'OVL_SESSION_CLOSED'), null)
    assert.equal(w.ignoredDowns, 1)
  })

  it('a process that exits on its own is a crash', () => {
    const w = world(2)
    assert.equal(w.exited(1, 2_000, 1, null), true)
    w.stopping(0, 3_000, 'leave')
    assert.equal(w.exited(0, 3_100, 0, null), false)
  })

  it('fails the verdict on any false down, naming the reasons', () => {
    const w = world(2)
    w.peerDown(0, 1, 5_000, 'OVL_HEARTBEAT_TIMEOUT')
    const failures = verdict({ ...cleanVerdict(), falseDowns: w.falseDowns })
    assert.deepEqual(failures, ['1 false down declaration(s) (OVL_HEARTBEAT_TIMEOUT)'])
  })
})

describe('verdict', () => {
  it('fails a run that judged no traffic at all', () => {
    const ledger = new Ledger(OPTIONS)
    const failures = verdict({ ...cleanVerdict(), direct: ledger.direct, broadcast: ledger.broadcast })
    assert.equal(failures.length, 2)
  })
})

function cleanVerdict(): VerdictInput {
  return {
    direct: { sent: 1, acknowledged: 1, failed: 0, judged: 1, excluded: 0, lost: 0, duplicates: 0, failedHard: 0, failedDuringChurn: 0, ackLost: 0, unresolved: 0, wrongSender: 0 },
    broadcast: { sent: 1, noPeers: 0, expected: 1, delivered: 1, missed: 0, duplicates: 0, extra: 0, toOrigin: 0, wrongOrigin: 0 },
    lateReceipts: 0,
    falseDowns: [],
    trends: [],
    crashes: [],
    rejoinFailures: [],
    exitFailures: [],
    errors: [],
  }
}
