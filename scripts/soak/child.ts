/**
 * A soak node's process: the real `overlay` command line (src/cli/main.ts,
 * what bin/overlay.js runs), started with `--expose-gc` and an IPC channel.
 * On a `sample` request over IPC it runs a full GC and answers with its
 * memory, its active resources by type and its live timers (timer-probe.ts).
 * Everything else (commands, events) goes through stdin/stdout with --json,
 * as for any script driving a node.
 *
 * The probe costs the node one IPC pipe (constant) and a full GC per sample.
 */
import { installTimerProbe } from './timer-probe.js'
import type { ProbeRequest, ProcessSample } from './types.js'

const probe = installTimerProbe()

process.on('message', (request: ProbeRequest) => {
  if (request?.type !== 'sample') return
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const memory = process.memoryUsage()
  const resources: Record<string, number> = {}
  for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1
  const sample: ProcessSample = {
    type: 'sample',
    id: request.id,
    afterGc: gc !== undefined,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    resources,
    timers: probe.live(),
    timersCreated: probe.created(),
  }
  process.send?.(sample)
})

// The command itself (and its exit when the soak goes away), after the probe is in place.
await import('../overlay.js')
