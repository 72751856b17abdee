/**
 * npm run soak -- [--quick] [--nodes N] [--duration D] [--churn] [--json FILE]
 *
 * Runs N real overlay nodes with steady traffic for D and reports false
 * "down" declarations, missed heartbeats, lost messages, and memory, handles
 * and timers over time (run.ts). Exit status: 0 clean, 1 when anything was
 * lost, falsely declared down, grew without bound, crashed or did not rejoin,
 * 2 on bad usage. docs/benchmarks.md describes the checks and their tolerances.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseOptions, USAGE, UsageError, type SoakOptions } from './options.js'
import { renderReport } from './report.js'
import { Soak } from './run.js'

function progress(message: string): void {
  process.stderr.write(`soak: ${message}\n`)
}

export async function main(argv: string[]): Promise<number> {
  let options: SoakOptions
  try {
    options = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`${err.message ? `soak: ${err.message}\n` : ''}${USAGE}\n`)
    return 2
  }
  const soak = new Soak(options, progress)
  // Ctrl-C: the nodes still get told to exit and the temp dir is removed; a second one stops at once.
  let interrupted = false
  const onSignal = (): void => {
    if (interrupted) process.exit(130)
    interrupted = true
    progress('interrupted: stopping the nodes (Ctrl-C again to quit at once)')
    soak.interrupt()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const report = await soak.run()
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  process.stdout.write(`${renderReport(report)}\n`)
  if (options.json !== null) {
    await fs.writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`)
    progress(`wrote ${path.resolve(options.json)}`)
  }
  if (interrupted) return 130
  return report.ok ? 0 : 1
}

process.exitCode = await main(process.argv.slice(2))
