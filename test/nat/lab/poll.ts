/** Polling for state that has no event (conntrack tables, namespace lists, process tables). */
import { readFileSync } from 'node:fs'
import { LabError } from './errors.js'

export const POLL_INTERVAL_MS = 100

/** Resolves once `condition` holds, checking every `intervalMs`; LAB_TIMEOUT after `timeoutMs`. */
export async function pollUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = POLL_INTERVAL_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() >= deadline) throw new LabError('LAB_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not count). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0) !== 'Z'
  } catch {
    return false
  }
}
