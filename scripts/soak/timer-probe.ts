/**
 * Counts the timers a process holds, unref'ed ones included.
 *
 * process.getActiveResourcesInfo() lists only timers that keep the event loop
 * alive: the node unref()s every long-lived timer (heartbeats, discovery,
 * dial timeouts), so a leak of those would never show there. This wraps the
 * global timer functions instead: a timer is live from setTimeout/setInterval
 * (or refresh()) until it fires (setTimeout) or is cleared. Timers Node
 * creates internally (socket timeouts in net/http) are not seen; their cost
 * shows in the heap.
 *
 * Installed by the soak's child entry before the node's code runs; the node
 * and its libraries use the globals (nothing under src/ imports node:timers).
 */

const LIVE = Symbol('soak.timer.live')

interface Tracked {
  [LIVE]?: boolean
}

export interface TimerProbe {
  /** Timers armed now: set and neither fired (one-shot) nor cleared. */
  live(): number
  /** Timers created since install. */
  created(): number
}

export function installTimerProbe(): TimerProbe {
  const live = new Set<Tracked>()
  let created = 0
  const g = globalThis as unknown as Record<string, (...args: unknown[]) => unknown>
  const setTimeoutOrig = g.setTimeout as (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => Tracked
  const setIntervalOrig = g.setInterval as (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => Tracked
  const clearTimeoutOrig = g.clearTimeout as (t: unknown) => void
  const clearIntervalOrig = g.clearInterval as (t: unknown) => void

  const track = (timer: Tracked): void => {
    timer[LIVE] = true
    live.add(timer)
  }
  const untrack = (timer: unknown): void => {
    if (timer !== null && typeof timer === 'object' && (timer as Tracked)[LIVE]) {
      ;(timer as Tracked)[LIVE] = false
      live.delete(timer as Tracked)
    }
  }

  g.setTimeout = function (callback: unknown, ms?: unknown, ...args: unknown[]): Tracked {
    if (typeof callback !== 'function') return setTimeoutOrig(callback as never, ms as number, ...args)
    const timer: Tracked = setTimeoutOrig(
      function (this: unknown, ...cbArgs: unknown[]) {
        untrack(timer)
        return (callback as (...a: unknown[]) => unknown).apply(this, cbArgs)
      },
      ms as number,
      ...args,
    )
    created++
    track(timer)
    return timer
  } as never
  g.setInterval = function (callback: unknown, ms?: unknown, ...args: unknown[]): Tracked {
    const timer = setIntervalOrig(callback as never, ms as number, ...args)
    created++
    track(timer)
    return timer
  } as never
  g.clearTimeout = function (timer: unknown): void {
    untrack(timer)
    clearTimeoutOrig(timer)
  } as never
  g.clearInterval = function (timer: unknown): void {
    untrack(timer)
    clearIntervalOrig(timer)
  } as never

  // util.promisify(setTimeout) and friends keep working.
  for (const [wrapped, original] of [
    [g.setTimeout, setTimeoutOrig],
    [g.setInterval, setIntervalOrig],
  ] as const) {
    for (const key of Reflect.ownKeys(original)) {
      if (typeof key === 'symbol') Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(original, key) as PropertyDescriptor)
    }
  }

  // refresh() re-arms a timer that may have fired; close() is clearTimeout.
  const probe = setTimeoutOrig(() => {}, 0)
  const proto = Object.getPrototypeOf(probe) as { refresh: (this: Tracked) => unknown; close: (this: Tracked) => unknown }
  clearTimeoutOrig(probe)
  const refreshOrig = proto.refresh
  const closeOrig = proto.close
  proto.refresh = function (this: Tracked) {
    if (this[LIVE] === false) track(this)
    return refreshOrig.call(this)
  }
  proto.close = function (this: Tracked) {
    untrack(this)
    return closeOrig.call(this)
  }

  return { live: () => live.size, created: () => created }
}
