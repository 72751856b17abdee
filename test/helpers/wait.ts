/** Waiting on events, with a timeout, instead of sleeping. */
import type { EventEmitter} from 'node:events';
import { once } from 'node:events'

export async function within<T>(ms: number, promise: Promise<T>, what = 'event'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The next `event` from `emitter` whose arguments satisfy `filter`. */
export function nextEvent<A extends unknown[]>(emitter: EventEmitter, event: string, filter: (...args: A) => boolean = () => true, ms = 10_000): Promise<A> {
  let listener: (...args: unknown[]) => void = () => {}
  const heard = new Promise<A>((resolve) => {
    listener = (...args: unknown[]): void => {
      if (!filter(...(args as A))) return
      resolve(args as A)
    }
    emitter.on(event, listener)
  })
  // Off on either outcome: a timed-out wait leaves no listener behind.
  return within(ms, heard, `'${event}'`).finally(() => emitter.off(event, listener))
}

/** Polls a condition every 5 ms, with a timeout. For state with no event. */
export async function until(condition: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export { once }
