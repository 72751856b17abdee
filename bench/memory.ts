/**
 * Section "memory": memory per open session, both ends in one process, the
 * baseline and the overlay each in a child process of their own started with
 * --expose-gc. RSS, V8 heap and external (Buffer) growth after opening N
 * sessions, divided by N. The headline RSS figure leaves out growth of V8's
 * young generation, which V8 sizes by allocation rate and not by what is live
 * (see memory-child.ts); the raw RSS growth and that growth are reported too. Each session has carried one 64-byte echo (that pair
 * runs once per trial, alternating, and the median child counts); a second
 * pair of children repeats it with a 64 KiB echo (buffers grown by use), and
 * an extra child measures an idle OverlayNode.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import type { MemoryKind, MemoryReport } from './memory-child.js'
import { BULK_MESSAGE_BYTES } from './session.js'
import { round } from './stats.js'
import { within } from './wait.js'

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url))
const CHILD_TIMEOUT_MS = 180_000
const IDLE_NODES = 50

export function runMemoryChild(kind: MemoryKind, fixtureDir: string, count: number, echoBytes?: number): Promise<MemoryReport> {
  // The same loader flags as this process (tsx), plus a collectable heap.
  const args = [...process.execArgv.filter((arg) => arg !== '--expose-gc'), '--expose-gc', CHILD, kind, fixtureDir, String(count)]
  if (echoBytes !== undefined) args.push(String(echoBytes))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<MemoryReport>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`memory child (${kind}) exited with ${signal ?? code}:\n${stderr.trim()}`))
      const line = stdout.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as MemoryReport)
      } catch {
        reject(new Error(`memory child (${kind}) printed no report:\n${stdout}\n${stderr}`))
      }
    })
  })
  return within(CHILD_TIMEOUT_MS, exited, `the memory child (${kind})`).catch((err: Error) => {
    child.kill('SIGKILL')
    throw err
  })
}

/**
 * The child with the median RSS growth (less young generation). One child's
 * figure moves from run to run (where glibc places each session's buffers:
 * fresh pages, or pages already resident), so the headline pair is measured
 * more than once.
 */
function medianChild(reports: MemoryReport[]): MemoryReport {
  const sorted = [...reports].sort((a, b) => a.rss_kib - b.rss_kib)
  return sorted[(sorted.length - 1) >> 1] as MemoryReport
}

export const memorySection: BenchSection = {
  name: 'memory',
  title: 'Memory per open session (both ends in one process, child process per contender)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const count = ctx.scale.memorySessions
    // The headline pair, alternating, `trials` children each: the median child is reported.
    const trials: Record<'baseline' | 'overlay', MemoryReport[]> = { baseline: [], overlay: [] }
    for (let trial = 0; trial < ctx.scale.trials; trial++) {
      for (const kind of ['baseline', 'overlay'] as const) {
        ctx.progress(`memory: ${kind}, ${count} ${kind === 'baseline' ? 'TLS connections' : 'sessions'}${ctx.scale.trials > 1 ? ` (trial ${trial + 1}/${ctx.scale.trials})` : ''}`)
        trials[kind].push(await runMemoryChild(kind, ctx.fixture.dir, count))
      }
    }
    const baseline = medianChild(trials.baseline)
    const overlay = medianChild(trials.overlay)
    ctx.progress(`memory: both again, each session having echoed ${BULK_MESSAGE_BYTES} B`)
    const baselineUsed = await runMemoryChild('baseline', ctx.fixture.dir, count, BULK_MESSAGE_BYTES)
    const overlayUsed = await runMemoryChild('overlay', ctx.fixture.dir, count, BULK_MESSAGE_BYTES)
    ctx.progress(`memory: ${IDLE_NODES} idle overlay nodes`)
    const nodes = await runMemoryChild('overlay-node', ctx.fixture.dir, IDLE_NODES)
    const notes = [baseline, overlay, baselineUsed, overlayUsed].every((r) => r.gc) ? [] : ['global.gc() was not available: memory figures include garbage']
    return {
      figures: [
        {
          key: 'mem_kib_per_session',
          label: `memory per session, RSS less V8 young-generation growth (KiB, ${count} sessions${ctx.scale.trials > 1 ? `, median of ${ctx.scale.trials} children` : ''})`,
          better: 'lower',
          headline: true,
          target: { max: 1.2 },
          baseline: round(baseline.rss_kib),
          overlay: round(overlay.rss_kib),
        },
        { key: 'mem_rss_raw_kib_per_session', label: 'memory per session, RSS as measured (KiB, same children)', better: 'lower', baseline: round(baseline.rss_raw_kib), overlay: round(overlay.rss_raw_kib) },
        { key: 'mem_young_kib_per_session', label: "  of which V8's young generation grew (KiB)", better: 'lower', compare: false, baseline: round(baseline.young_kib), overlay: round(overlay.young_kib) },
        { key: 'mem_heap_kib_per_session', label: 'memory per session, V8 heap (KiB)', better: 'lower', baseline: round(baseline.heap_used_kib), overlay: round(overlay.heap_used_kib) },
        // OpenSSL's and TCP's buffers are native memory outside V8's accounting: only RSS compares.
        { key: 'mem_external_kib_per_session', label: 'memory per session, external/Buffers (KiB)', better: 'lower', compare: false, baseline: round(baseline.external_kib), overlay: round(overlay.external_kib) },
        { key: 'mem_kib_per_session_after_64k', label: `memory per session after a ${BULK_MESSAGE_BYTES} B echo, RSS less young generation (KiB)`, better: 'lower', baseline: round(baselineUsed.rss_kib), overlay: round(overlayUsed.rss_kib) },
        { key: 'mem_kib_per_idle_node', label: `memory per idle OverlayNode, RSS less young generation (KiB, ${IDLE_NODES} nodes)`, better: 'lower', overlay: round(nodes.rss_kib) },
      ],
      data: {
        baseline,
        overlay,
        rss_kib_trials: { baseline: trials.baseline.map((r) => round(r.rss_kib)), overlay: trials.overlay.map((r) => round(r.rss_kib)) },
        rss_raw_kib_trials: { baseline: trials.baseline.map((r) => round(r.rss_raw_kib)), overlay: trials.overlay.map((r) => round(r.rss_raw_kib)) },
        baseline_after_64k: baselineUsed,
        overlay_after_64k: overlayUsed,
        idle_nodes: nodes,
      },
      notes,
    }
  },
}
