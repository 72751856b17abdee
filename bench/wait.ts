/**
 * Waiting for events with a deadline, never for a fixed time: a benchmark that
 * hangs fails with a message naming what it waited for.
 */
import type { EventEmitter } from 'node:events'

export class BenchTimeoutError extends Error {
  override name = 'BenchTimeoutError'
}

/** `promise`, or a BenchTimeoutError naming `what` after `ms`. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchTimeoutError(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: Error) => void
  settled: boolean
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const d: Deferred<T> = {
    promise: new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    }),
    resolve: (value) => {
      if (d.settled) return
      d.settled = true
      resolve(value)
    },
    reject: (error) => {
      if (d.settled) return
      d.settled = true
      reject(error)
    },
    settled: false,
  }
  return d
}

/**
 * The next `event` from `emitter`; rejects if one of `failOn` comes first
 * (an 'error' argument is passed on, any other event becomes an error naming it).
 */
export function nextEvent(emitter: EventEmitter, event: string, failOn: string[] = ['error', 'close']): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const listeners = new Map<string, (...args: unknown[]) => void>()
    const done = (): void => {
      for (const [name, listener] of listeners) emitter.off(name, listener)
    }
    listeners.set(event, (...args) => {
      done()
      resolve(args)
    })
    for (const name of failOn) {
      if (name === event) continue
      listeners.set(name, (arg) => {
        done()
        reject(arg instanceof Error ? arg : new Error(`'${name}' before '${event}'`))
      })
    }
    for (const [name, listener] of listeners) emitter.on(name, listener)
  })
}

/** Runs `task` over `items` with at most `limit` at once, in order of start. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index] as T, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/**
 * Runs `body`, then `cleanup` whatever happened. A cleanup failure is thrown
 * only when the body succeeded: it never hides the error that caused it.
 */
export async function withCleanup<T>(body: () => Promise<T>, cleanup: () => Promise<unknown>): Promise<T> {
  let result: T
  try {
    result = await body()
  } catch (err) {
    await cleanup().catch(() => {})
    throw err
  }
  await cleanup()
  return result
}

/** Closes every one of `closables` (all are tried), then throws the first failure. */
export async function closeAll(closables: Array<{ close(): Promise<unknown> } | null | undefined>): Promise<void> {
  const results = await Promise.allSettled(closables.map((c) => c?.close()))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}
