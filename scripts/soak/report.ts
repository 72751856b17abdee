/** The soak's report for people: what was checked, what was found, the verdict. */
import { RESOURCE_METRICS, type ResourceRow } from './analysis.js'
import { formatDuration } from './options.js'
import { percentiles, type Percentiles, type SoakReport } from './run.js'

function pct(p: Percentiles | null, unit = 'ms'): string {
  return p === null ? '-' : `p50 ${p.p50} ${unit}, p99 ${p.p99} ${unit}, max ${p.max} ${unit} (${p.count})`
}

function num(value: number): string {
  return Number.isFinite(value) ? (Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString()) : '-'
}

export function renderReport(r: SoakReport): string {
  const o = r.options
  const lines: string[] = []
  const traffic = r.phases.trafficToS - r.phases.trafficFromS
  lines.push(`p2p-overlay soak: ${o.nodes} overlay processes, ${formatDuration(traffic * 1000)} of traffic${o.churn ? ', with churn' : ''} (seed ${o.seed})`)
  lines.push(`${r.machine.cpuModel}, ${r.machine.cpus} cores, ${r.machine.memoryGiB} GiB; ${r.machine.platform}; Node ${r.machine.node}`)
  lines.push(`network formed in ${r.phases.formedS.toFixed(1)} s; trend window ${r.resources.window.fromS.toFixed(0)}-${r.resources.window.toS.toFixed(0)} s; whole run ${r.phases.endS.toFixed(0)} s`)
  lines.push('')

  const d = r.direct
  lines.push('== direct messages (acknowledged send between random pairs)')
  lines.push(`  sent ${d.sent}, acknowledged ${d.acknowledged}, failed ${d.failed}; judged ${d.judged} between stable nodes, ${d.excluded} excluded (an endpoint churned)`)
  lines.push(`  LOST ${d.lost}, duplicates ${d.duplicates}, failed with nothing churned ${d.failedHard}, failed during churn ${d.failedDuringChurn} (acknowledgement lost: ${d.ackLost}), unanswered ${d.unresolved}`)
  lines.push(`  acknowledgement round trip: ${pct(d.ackRttMs)}`)
  const b = r.broadcast
  lines.push('== broadcasts (every node with a peer throughout must print each exactly once)')
  lines.push(`  sent ${b.sent} (${b.noPeers} from a node with no session); receptions owed ${b.expected}, delivered ${b.delivered}, MISSED ${b.missed}, duplicates ${b.duplicates}, extra ${b.extra}`)
  lines.push(`  send to the last node's line: ${pct(b.propagationMs)}`)
  if (r.lateReceipts > 0) lines.push(`  printed after judgement: ${r.lateReceipts}`)

  const h = r.heartbeats
  lines.push('== liveness')
  lines.push(`  missed heartbeats ${h.missed}${o.churn ? ' (including those to killed peers before they were declared down)' : ''}; peers declared down by heartbeat ${h.declaredDown}`)
  lines.push(`  FALSE DOWNS ${h.falseDowns.length}`)
  for (const f of h.falseDowns.slice(0, 10)) {
    const back = f.backAfterMs === null ? 'not back' : `back up after ${f.backAfterMs.toFixed(0)} ms`
    lines.push(`    at ${(f.at / 1000).toFixed(1)} s node ${f.observer} declared node ${f.peer} down: ${f.reason} (${f.message.slice(0, 90)}); ${back}${f.observerRejoining ? ' (the observer had just restarted)' : ''}`)
  }
  const expected = Object.entries(h.expectedDowns)
  if (expected.length > 0) lines.push(`  downs of churned peers (expected): ${expected.map(([k, v]) => `${k} ${v}`).join(', ')}`)

  if (o.churn) {
    const c = r.churn
    lines.push('== churn (odd-numbered nodes killed or told to exit, then restarted on the same port and data dir)')
    lines.push(`  ${c.events.length} restarts: ${c.events.filter((e) => e.how === 'kill').length} SIGKILL, ${c.events.filter((e) => e.how === 'leave').length} exit`)
    lines.push(`  restart (process spawned) to its first peer: ${pct(c.rejoinMs)}`)
    const afterReady = c.events.flatMap((e) => (e.rejoinMs !== null && e.readyMs !== null ? [e.rejoinMs - e.readyMs] : []))
    lines.push(`    of which from its ready line to its first peer (the rest is process start-up): ${pct(percentiles(afterReady))}`)
    lines.push(`  SIGKILL noticed by neighbours after: ${pct(c.killNoticedMs)}`)
    lines.push(`  exit (LEAVE) noticed by neighbours after: ${pct(c.leaveNoticedMs)}`)
    const other = c.events.flatMap((e) => e.noticedOther)
    if (other.length > 0) lines.push(`  other down reasons seen for churned nodes: ${other.join(', ')}`)
  }

  lines.push(...overTime(r))
  lines.push('== resources per process: first sample -> last, and the trend over the second half')
  const header = ['process', ...RESOURCE_METRICS.map((m) => m.key)]
  const rows: string[][] = [header]
  for (const [inc, last] of Object.entries(r.resources.last)) {
    const first = r.resources.first[inc] as ResourceRow
    rows.push([inc, ...RESOURCE_METRICS.map((m) => `${num(first[m.key])}->${num(last[m.key])}`)])
  }
  lines.push(...table(rows).map((l) => `  ${l}`))
  const judged = r.resources.trends
  const failed = judged.filter((t) => !t.ok)
  lines.push(`  trend checks: ${judged.length - failed.length} of ${judged.length} within tolerance`)
  for (const metric of RESOURCE_METRICS) {
    const checks = judged.filter((t) => t.metric === metric.key)
    if (checks.length === 0) continue
    const worst = checks.reduce((a, c) => (c.growth - c.allowed > a.growth - a.allowed ? c : a))
    lines.push(`    ${metric.label.padEnd(28)} worst growth ${num(worst.growth)} (process ${worst.inc}), allowed ${num(worst.allowed)}`)
  }

  const warnings = Object.entries(r.warnings)
  if (warnings.length > 0) lines.push(`== warnings printed by the nodes: ${warnings.map(([k, v]) => `${k} (${v})`).join('; ')}`)
  const logs = Object.entries(r.logs).slice(0, 8)
  if (logs.length > 0) {
    lines.push('== most frequent warnings/errors in the nodes\' logs')
    for (const [k, v] of logs) lines.push(`  ${String(v).padStart(5)}  ${k}`)
  }
  if (r.problems.length > 0) {
    lines.push('== message problems (first 10)')
    for (const p of r.problems.slice(0, 10)) lines.push(`  ${(p.at / 1000).toFixed(1)} s ${p.kind}: ${p.detail}`)
  }
  lines.push('')
  if (r.dataDir !== null) lines.push(`data dirs and node logs kept in ${r.dataDir}`)
  if (r.ok) lines.push('PASS: nothing lost, no false down, no unbounded growth')
  else {
    lines.push(`FAIL (${r.failures.length}):`)
    for (const f of r.failures) lines.push(`  - ${f}`)
  }
  return lines.join('\n')
}

/** The processes that lived through the run (those judged for trends), averaged at five moments of the traffic. */
function overTime(r: SoakReport): string[] {
  const judged = new Set(r.resources.trends.map((t) => t.inc))
  const samples = r.resources.samples.filter((s) => judged.has(s.inc))
  if (samples.length === 0) return []
  const from = r.phases.trafficFromS
  const to = r.resources.window.toS
  const keys = ['rssMiB', 'heapMiB', 'handles', 'timers', 'fds', 'sessions'] as const
  const rows: string[][] = [['at (s)', ...keys]]
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    const at = from + (to - from) * share
    const nearest = [...judged].flatMap((inc) => {
      const own = samples.filter((s) => s.inc === inc)
      const best = own.reduce<ResourceRow | null>((b, s) => (b === null || Math.abs(s.t - at) < Math.abs(b.t - at) ? s : b), null)
      return best ? [best] : []
    })
    const mean = (k: (typeof keys)[number]): string => num(nearest.reduce((sum, s) => sum + s[k], 0) / nearest.length)
    rows.push([at.toFixed(0), ...keys.map(mean)])
  }
  return [`== over time: mean of the ${judged.size} processes that ran throughout`, ...table(rows).map((l) => `  ${l}`)]
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd())
}
