/** The soak's command line. */
import { parseArgs } from 'node:util'

export interface SoakOptions {
  nodes: number
  /** Traffic phase, ms (start-up and shutdown come on top). */
  durationMs: number
  churn: boolean
  json: string | null
  quick: boolean
  /** Direct messages per second, over the whole network. */
  directPerS: number
  broadcastEveryMs: number
  churnEveryMs: number
  sampleEveryMs: number
  seed: number
  keep: boolean
}

export const USAGE = `usage: npm run soak -- [--quick] [--nodes N] [--duration D] [--churn] [--json FILE]
  --quick             CI run: 5 nodes for 60s (other flags still apply)
  --nodes N           node processes (default 5, at least 2)
  --duration D        traffic phase: 90s, 10m, 2h (default 60s); start-up and shutdown come on top
  --churn             kill (SIGKILL) or stop (exit) half the nodes in turn, and restart them
  --json FILE         also write the full report (samples included) as JSON
  --direct-rate R     direct messages per second over the network (default 5)
  --broadcast-every D one broadcast this often (default 2s)
  --churn-every D     one node churned this often (default: 20s, or 15s with --quick)
  --sample-every D    resources sampled this often (default: duration/40, 1s to 60s)
  --seed S            seed for the random choices (default: random, printed)
  --keep              keep the temp directory (data dirs, node logs) even when the run passes
Exit status: 0 clean; 1 something was lost, falsely declared down, grew, crashed or did not rejoin; 2 bad usage.`

export class UsageError extends Error {}

/** "90s", "10m", "2h", "1500ms", "1h30m" to ms. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new UsageError(`"${text}" is not a duration: use 90s, 10m, 2h, 1h30m or 500ms`)
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] as string] as number), 0)
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`
  if (ms < 120_000) return `${Math.round(ms / 100) / 10}s`
  if (ms < 7_200_000) return `${Math.round(ms / 6_000) / 10}m`
  return `${Math.round(ms / 360_000) / 10}h`
}

export function parseOptions(argv: string[]): SoakOptions {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        nodes: { type: 'string' },
        duration: { type: 'string' },
        churn: { type: 'boolean', default: false },
        json: { type: 'string' },
        'direct-rate': { type: 'string' },
        'broadcast-every': { type: 'string' },
        'churn-every': { type: 'string' },
        'sample-every': { type: 'string' },
        seed: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) throw new UsageError('')
  const nodes = values.nodes === undefined ? 5 : Number(values.nodes)
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 200) throw new UsageError(`--nodes: expected a whole number from 2 to 200, got "${values.nodes}"`)
  const durationMs = parseDuration(values.duration ?? '60s')
  if (durationMs < 10_000) throw new UsageError('--duration: at least 10s (a trend needs samples)')
  const directPerS = values['direct-rate'] === undefined ? 5 : Number(values['direct-rate'])
  if (!(directPerS > 0 && directPerS <= 1_000)) throw new UsageError(`--direct-rate: expected a rate from 0 to 1000 a second, got "${values['direct-rate']}"`)
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
  if (!Number.isInteger(seed)) throw new UsageError(`--seed: expected a whole number, got "${values.seed}"`)
  const sampleEveryMs = values['sample-every'] === undefined ? Math.min(60_000, Math.max(1_000, Math.round(durationMs / 40))) : parseDuration(values['sample-every'])
  return {
    nodes,
    durationMs,
    churn: values.churn,
    json: values.json ?? null,
    quick: values.quick,
    directPerS,
    broadcastEveryMs: parseDuration(values['broadcast-every'] ?? '2s'),
    churnEveryMs: parseDuration(values['churn-every'] ?? (values.quick ? '15s' : '20s')),
    sampleEveryMs,
    seed,
    keep: values.keep,
  }
}
