/** Turns section results into the JSON report and the table on stdout. */
import type { Figure, RatioTarget, SectionResult } from './harness.js'
import type { MachineInfo } from './machine.js'
import { round } from './stats.js'

/** Every full report has these keys in both `baseline` and `overlay` (the issue's figures). */
export const REQUIRED_KEYS = ['setup_ms', 'echo_p50_us', 'echo_p99_us', 'msgs_per_s', 'bulk_mb_s', 'mem_kib_per_session'] as const

export interface TargetCheck {
  ratio: number
  max?: number
  min?: number
  met: boolean
}

export interface SectionRecord {
  title: string
  seconds: number
  data?: Record<string, unknown>
  notes?: string[]
}

export interface BenchReport {
  benchmark: 'p2p-overlay'
  schema: 1
  started_at: string
  duration_s: number
  command: string
  mode: 'full' | 'quick'
  machine: MachineInfo
  baseline: Record<string, number>
  overlay: Record<string, number>
  /** overlay / baseline for every figure both have. */
  ratios: Record<string, number>
  targets: Record<string, TargetCheck>
  sections: Record<string, SectionRecord>
}

export interface SectionOutcome {
  name: string
  title: string
  seconds: number
  result: SectionResult
}

export function checkTarget(ratio: number, target: RatioTarget): boolean {
  return (target.max === undefined || ratio <= target.max) && (target.min === undefined || ratio >= target.min)
}

export function buildReport(init: { startedAt: Date; command: string; quick: boolean; machine: MachineInfo; outcomes: SectionOutcome[] }): BenchReport {
  const report: BenchReport = {
    benchmark: 'p2p-overlay',
    schema: 1,
    started_at: init.startedAt.toISOString(),
    duration_s: round((Date.now() - init.startedAt.getTime()) / 1000, 3),
    command: init.command,
    mode: init.quick ? 'quick' : 'full',
    machine: init.machine,
    baseline: {},
    overlay: {},
    ratios: {},
    targets: {},
    sections: {},
  }
  for (const { name, title, seconds, result } of init.outcomes) {
    for (const figure of result.figures) {
      if (Object.hasOwn(report.overlay, figure.key) || Object.hasOwn(report.baseline, figure.key)) {
        throw new Error(`figure ${figure.key} is reported by two sections`)
      }
      if (figure.baseline !== undefined) report.baseline[figure.key] = figure.baseline
      if (figure.overlay !== undefined) report.overlay[figure.key] = figure.overlay
      const ratio = ratioOf(figure)
      if (ratio === undefined) continue
      report.ratios[figure.key] = ratio
      if (figure.target) report.targets[figure.key] = { ratio, ...figure.target, met: checkTarget(ratio, figure.target) }
    }
    report.sections[name] = { title, seconds: round(seconds, 3), ...(result.data ? { data: result.data } : {}), ...(result.notes?.length ? { notes: result.notes } : {}) }
  }
  return report
}

function ratioOf(figure: Figure): number | undefined {
  if (figure.compare === false || figure.baseline === undefined || figure.overlay === undefined || figure.baseline === 0) return undefined
  return round(figure.overlay / figure.baseline, 3)
}

/** 1234567 → "1,234,567"; 12.345 → "12.3"; 0.01234 → "0.0123". */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '-'
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US')
  if (Math.abs(value) >= 100) return value.toFixed(0)
  return String(Number(value.toPrecision(3)))
}

function formatTarget(target: RatioTarget | undefined): string {
  if (!target) return ''
  const parts: string[] = []
  if (target.max !== undefined) parts.push(`<= ${target.max}x`)
  if (target.min !== undefined) parts.push(`>= ${target.min}x`)
  return parts.join(', ')
}

function table(rows: string[][], align: Array<'l' | 'r'>): string {
  const widths = align.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)))
  return rows
    .map((row) => row.map((cell, col) => (align[col] === 'r' ? cell.padStart(widths[col] as number) : cell.padEnd(widths[col] as number))).join('  ').trimEnd())
    .join('\n')
}

export function renderTable(report: BenchReport, outcomes: SectionOutcome[]): string {
  const m = report.machine
  const lines: string[] = [
    `p2p-overlay benchmark (${report.mode} run, ${report.duration_s.toFixed(0)} s): overlay vs node:tls over TCP on loopback`,
    `${m.cpu_model}, ${m.cores} cores, ${m.memory_gib} GiB; ${m.os}; Node ${m.node_version}, OpenSSL ${m.openssl_version}, udx-native ${m.udx_native_version}`,
    '',
  ]
  const header = ['figure', 'key', 'baseline', 'overlay', 'overlay/baseline', 'target', 'met']
  for (const { title, result } of outcomes) {
    lines.push(`== ${title}`)
    const rows = [header]
    for (const f of result.figures) {
      const ratio = report.ratios[f.key]
      const check = report.targets[f.key]
      rows.push([
        `${f.headline ? '* ' : '  '}${f.label}`,
        f.key,
        formatNumber(f.baseline),
        formatNumber(f.overlay),
        ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
        formatTarget(f.target),
        check === undefined ? '' : check.met ? 'yes' : 'NO',
      ])
    }
    lines.push(table(rows, ['l', 'l', 'r', 'r', 'r', 'l', 'l']))
    for (const note of result.notes ?? []) lines.push(`  note: ${note}`)
    lines.push('')
  }
  const checks = Object.entries(report.targets)
  if (checks.length > 0) {
    const met = checks.filter(([, c]) => c.met).length
    lines.push(`targets met: ${met} of ${checks.length}${met < checks.length ? ` (missed: ${checks.filter(([, c]) => !c.met).map(([k]) => k).join(', ')})` : ''}`)
  }
  return lines.join('\n')
}
