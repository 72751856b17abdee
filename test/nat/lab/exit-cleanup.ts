/**
 * Last-resort cleanup: labs still alive when the process exits, or is stopped
 * by SIGINT, SIGTERM or SIGHUP, are torn down synchronously. (SIGKILL cannot be
 * caught: the next Lab.create sweeps what such a run left.)
 */

export interface SyncDestroyable {
  destroySync(): void
}

const live = new Set<SyncDestroyable>()
let exitHookInstalled = false
let signalHooksInstalled = false
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function destroyAll(): void {
  for (const item of [...live]) {
    live.delete(item)
    item.destroySync()
  }
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAll()
  for (const other of SIGNALS) process.off(other, onSignal)
  signalHooksInstalled = false
  // Die of the signal as if we had not caught it, unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

/** Tracks `item` until the returned function is called. */
export function destroyOnExit(item: SyncDestroyable): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', destroyAll)
  }
  if (!signalHooksInstalled) {
    signalHooksInstalled = true
    for (const signal of SIGNALS) process.on(signal, onSignal)
  }
  live.add(item)
  return () => live.delete(item)
}
