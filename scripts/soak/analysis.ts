/**
 * From what the soak saw to a verdict: resource trends per process over the
 * second half, and the list of reasons to fail. Pure functions of their
 * input, so test/soak/analysis.test.ts can feed them synthetic runs.
 */
import type { BroadcastTotals, DirectTotals } from './ledger.js'
import type { FalseDown } from './timeline.js'
import { trend, type Tolerance, type TrendResult } from './trend.js'

/** One resource sample of one process (t in seconds on the soak's clock). */
export interface ResourceRow {
  t: number
  node: number
  /** The process: `${node}.${incarnation}`. */
  inc: string
  rssMiB: number
  /** V8 heap in use right after a full GC: the live set. */
  heapMiB: number
  externalMiB: number
  /** Handles keeping the loop alive (sockets, pipes, servers, files), timers and requests not counted. */
  handles: number
  /** Timers armed, unref'ed ones included. */
  timers: number
  /** Open file descriptors (/proc), NaN where not available. */
  fds: number
  /** UDX streams on the node's socket. */
  streams: number
  sessions: number
  /** Direct messages awaiting an acknowledgement. */
  pendingDeliveries: number
  heartbeatsMissed: number
  peersDeclaredDown: number
}

export type ResourceKey = 'rssMiB' | 'heapMiB' | 'externalMiB' | 'handles' | 'timers' | 'fds' | 'streams' | 'pendingDeliveries'

export interface ResourceMetric {
  key: ResourceKey
  label: string
  tolerance: Tolerance
  /** What is judged, when not the key's value itself. */
  value?: (row: ResourceRow) => number
}

/**
 * What may grow over the second half of a soak before it counts as growing
 * without bound (trend.ts: allowed = max(absolute, relative x level)). The
 * absolute parts sit above what flat runs of this soak showed (the noise of
 * a GC'ed heap, RSS as the allocator settles, a dial or a delivery in flight
 * when a sample is taken): docs/benchmarks.md gives the calibration runs.
 */
export const RESOURCE_METRICS: ResourceMetric[] = [
  { key: 'heapMiB', label: 'V8 heap after GC (MiB)', tolerance: { absolute: 3, relative: 0.1 } },
  { key: 'rssMiB', label: 'RSS (MiB)', tolerance: { absolute: 16, relative: 0.1 } },
  { key: 'externalMiB', label: 'external + Buffers (MiB)', tolerance: { absolute: 2, relative: 0.2 } },
  { key: 'handles', label: 'active handles', tolerance: { absolute: 2, relative: 0 } },
  // Streams and timers are judged beyond one per session: a node that holds more sessions at
  // the end of the window (peers it accepted) holds a stream and a heartbeat timer for each.
  { key: 'timers', label: 'timers beyond one per session', tolerance: { absolute: 8, relative: 0.25 }, value: (r) => r.timers - r.sessions },
  { key: 'fds', label: 'file descriptors', tolerance: { absolute: 4, relative: 0.1 } },
  { key: 'streams', label: 'UDX streams beyond one per session', tolerance: { absolute: 3, relative: 0.25 }, value: (r) => r.streams - r.sessions },
  { key: 'pendingDeliveries', label: 'pending deliveries', tolerance: { absolute: 10, relative: 0 } },
]

export interface TrendCheck extends TrendResult {
  inc: string
  node: number
  metric: ResourceKey
  label: string
}

/**
 * Trend checks for every process alive through the whole window [from, to]
 * (seconds): those that came and went (churned) are too short to judge.
 */
export function resourceTrends(rows: readonly ResourceRow[], window: { from: number; to: number }, lifetimes: ReadonlyMap<string, { start: number; end: number | null }>, metrics = RESOURCE_METRICS): TrendCheck[] {
  const byInc = new Map<string, ResourceRow[]>()
  for (const row of rows) {
    const list = byInc.get(row.inc) ?? []
    list.push(row)
    byInc.set(row.inc, list)
  }
  const checks: TrendCheck[] = []
  for (const [inc, list] of byInc) {
    const life = lifetimes.get(inc)
    if (!life || life.start > window.from || (life.end !== null && life.end < window.to)) continue
    for (const metric of metrics) {
      const points = list.map((r) => ({ t: r.t, v: metric.value ? metric.value(r) : r[metric.key] })).filter((p) => Number.isFinite(p.v))
      if (metric.key === 'fds' && points.length === 0) continue // no /proc here
      checks.push({ inc, node: (list[0] as ResourceRow).node, metric: metric.key, label: metric.label, ...trend(points, window.from, window.to, metric.tolerance) })
    }
  }
  return checks
}

export interface VerdictInput {
  direct: DirectTotals
  broadcast: BroadcastTotals
  lateReceipts: number
  falseDowns: readonly FalseDown[]
  trends: readonly TrendCheck[]
  /** Processes that exited without being asked to. */
  crashes: readonly string[]
  /** Restarted nodes that did not get a peer in time. */
  rejoinFailures: readonly string[]
  /** Nodes that did not leave cleanly (exit status, hang) when told to. */
  exitFailures: readonly string[]
  /** Anything else that stops the run from being judged (the network never formed...). */
  errors: readonly string[]
}

/** Every reason the soak fails; empty when it passes. */
export function verdict(input: VerdictInput): string[] {
  const failures: string[] = [...input.errors]
  const d = input.direct
  const b = input.broadcast
  if (d.judged === 0) failures.push('no direct message was judged (no traffic between stable nodes)')
  if (b.expected === 0) failures.push('no broadcast reception was judged (no traffic between stable nodes)')
  if (d.lost > 0) failures.push(`${d.lost} direct message(s) acknowledged but never received`)
  if (d.duplicates > 0) failures.push(`${d.duplicates} duplicate direct message reception(s)`)
  if (d.failedHard > 0) failures.push(`${d.failedHard} direct message(s) failed between stable nodes with nothing churned`)
  if (d.unresolved > 0) failures.push(`${d.unresolved} send(s) never answered`)
  if (d.wrongSender > 0) failures.push(`${d.wrongSender} direct message(s) printed with the wrong sender`)
  if (b.missed > 0) failures.push(`${b.missed} broadcast reception(s) missed`)
  if (b.duplicates > 0) failures.push(`${b.duplicates} duplicate broadcast reception(s)`)
  if (b.toOrigin > 0) failures.push(`${b.toOrigin} broadcast(s) printed by their own origin`)
  if (b.wrongOrigin > 0) failures.push(`${b.wrongOrigin} broadcast(s) printed with the wrong origin`)
  if (input.lateReceipts > 0) failures.push(`${input.lateReceipts} message(s) printed after they were judged`)
  const falseDowns = input.falseDowns
  if (falseDowns.length > 0) {
    const reasons = [...new Set(falseDowns.map((f) => f.reason))].join(', ')
    failures.push(`${falseDowns.length} false down declaration(s) (${reasons})`)
  }
  for (const check of input.trends) {
    if (!check.ok) failures.push(`process ${check.inc}: ${check.label} ${check.reason}`)
  }
  failures.push(...input.crashes.map((c) => `crash: ${c}`))
  failures.push(...input.rejoinFailures.map((r) => `no rejoin: ${r}`))
  failures.push(...input.exitFailures.map((e) => `exit: ${e}`))
  return failures
}
