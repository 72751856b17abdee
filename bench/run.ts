/**
 * npm run bench [-- --quick] [-- --json FILE] [-- --only session,memory] [-- --diagnose] [-- --check]
 *
 * Measures the overlay against node:tls over TCP on loopback and prints a table
 * with the ratio overlay/baseline for each figure; --json also writes the
 * figures as JSON (docs/benchmarks.md describes both). Exit status: 0 when every
 * section ran, 1 when one failed (the message names it), 2 on bad usage, 3 with
 * --check when a target was missed.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { broadcastSection } from './broadcast.js'
import { dashboardSection } from './dashboard.js'
import { diagnosticsSection } from './diagnostics.js'
import { ed25519Section } from './ed25519.js'
import { failureSection } from './failure.js'
import { createFixture, removeFixture, type Fixture } from './fixture.js'
import { FULL_SCALE, QUICK_SCALE, type BenchContext, type BenchSection } from './harness.js'
import { machineInfo } from './machine.js'
import { memorySection } from './memory.js'
import { restartSection } from './restart.js'
import { buildReport, renderTable, REQUIRED_KEYS, type SectionOutcome } from './report.js'
import { sessionSection } from './session.js'

/** The sections of a default run, in order. Add new ones here. */
const SECTIONS: BenchSection[] = [sessionSection, memorySection, ed25519Section, dashboardSection, broadcastSection, failureSection, restartSection]
/** Sections run only when asked for (--diagnose or --only). */
const OPTIONAL_SECTIONS: BenchSection[] = [diagnosticsSection]

const USAGE = `usage: npm run bench -- [--quick] [--json FILE] [--only NAME,...] [--diagnose] [--check]
  --quick        smaller counts (CI): the whole run in well under a minute
  --json FILE    also write the figures as JSON to FILE
  --only LIST    run only these sections (${[...SECTIONS, ...OPTIONAL_SECTIONS].map((s) => s.name).join(', ')})
  --diagnose     also run the layer-by-layer diagnostics (bare UDX, UDX+TLS, plain TCP)
  --check        exit with status 3 if a target is missed`

class UsageError extends Error {}

function parse(argv: string[]): { quick: boolean; json: string | null; sections: BenchSection[]; check: boolean } {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        only: { type: 'string' },
        diagnose: { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) throw new UsageError('')
  const all = [...SECTIONS, ...OPTIONAL_SECTIONS]
  let sections = values.diagnose ? all : SECTIONS
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter(Boolean)
    const unknown = names.filter((name) => !all.some((s) => s.name === name))
    if (unknown.length > 0 || names.length === 0) throw new UsageError(`--only: unknown section ${unknown.join(', ') || '(none given)'}`)
    sections = all.filter((s) => names.includes(s.name))
  }
  return { quick: values.quick, json: values.json ?? null, sections, check: values.check }
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}

async function runSections(sections: BenchSection[], ctx: BenchContext): Promise<SectionOutcome[]> {
  const outcomes: SectionOutcome[] = []
  for (const section of sections) {
    const started = performance.now()
    try {
      const result = await section.run(ctx)
      outcomes.push({ name: section.name, title: section.title, seconds: (performance.now() - started) / 1000, result })
    } catch (err) {
      throw new Error(`section "${section.name}" failed: ${(err as Error).message}`, { cause: err })
    }
  }
  return outcomes
}

/** Handles the process should not have once everything is closed. */
function leftoverResources(): string[] {
  // stdio, file I/O in flight and unref'ed timers do not hold sockets or nodes.
  const ignored = new Set(['TTYWrap', 'PipeWrap', 'FSReqCallback', 'FSReqPromise', 'FileHandle', 'CloseReq', 'Timeout', 'Immediate'])
  return process.getActiveResourcesInfo().filter((name) => !ignored.has(name))
}

export async function main(argv: string[]): Promise<number> {
  let options
  try {
    options = parse(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `bench: ${err.message}\n` : ''}${USAGE}\n`)
      return 2
    }
    throw err
  }
  const startedAt = new Date()
  const scale = options.quick ? QUICK_SCALE : FULL_SCALE
  progress(`${options.quick ? 'quick' : 'full'} run: ${options.sections.map((s) => s.name).join(', ')}`)
  progress('creating a CA and two node certificates in a temp dir')
  let fixture: Fixture | null = null
  let outcomes: SectionOutcome[]
  // Ctrl-C: no temp dir with CA keys left behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (fixture) fs.rm(fixture.dir, { recursive: true, force: true }).finally(() => process.exit(130))
    else process.exit(130)
    process.stderr.write(`bench: interrupted (${signal})\n`)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    fixture = await createFixture()
    outcomes = await runSections(options.sections, { scale, fixture, progress })
  } catch (err) {
    process.stderr.write(`bench: FAILED: ${(err as Error).message}\n`)
    const cause = (err as Error).cause as Error | undefined
    if (cause?.stack) process.stderr.write(`${cause.stack}\n`)
    return 1
  } finally {
    if (fixture) await removeFixture(fixture)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  const leftovers = leftoverResources()
  if (leftovers.length > 0) {
    process.stderr.write(`bench: FAILED: handles left open after every section closed: ${leftovers.join(', ')}\n`)
    return 1
  }
  const report = buildReport({ startedAt, command: ['npm run bench --', ...argv].join(' '), quick: options.quick, machine: machineInfo(), outcomes })
  const ranAll = SECTIONS.every((s) => options.sections.includes(s))
  const missing = ranAll ? REQUIRED_KEYS.filter((k) => report.baseline[k] === undefined || report.overlay[k] === undefined) : []
  if (missing.length > 0) {
    process.stderr.write(`bench: FAILED: the report lacks ${missing.join(', ')}\n`)
    return 1
  }
  process.stdout.write(`${renderTable(report, outcomes)}\n`)
  if (options.json !== null) {
    await fs.writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`)
    progress(`wrote ${path.resolve(options.json)}`)
  }
  if (options.check && Object.values(report.targets).some((t) => !t.met)) return 3
  return 0
}

const code = await main(process.argv.slice(2))
process.exitCode = code
