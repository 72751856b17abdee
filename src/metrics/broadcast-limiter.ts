/**
 * Rate limit for METRIC_WARNING broadcasts: each warning (by key) goes out
 * at most once per interval. A change that comes sooner is held, and only
 * the latest state of a warning is held: when its interval ends the network
 * gets where it stands now (a raise and clear in between cost nothing). A
 * state the network already has is not sent again, nor the clearing of a
 * warning it never heard of. Each flush sends at most
 * `maxPerFlush`; the rest wait for the next one.
 */
import { LRUCache } from 'lru-cache'
import { MAX_LIMITED_WARNINGS } from './defaults.js'
import type { WarningState } from './warning-codec.js'

interface Held<T> {
  state: WarningState
  item: T
}

export class BroadcastLimiter<T> {
  readonly #intervalMs: number
  readonly #maxPerFlush: number
  /** Last state sent and when, per key. */
  readonly #sent = new LRUCache<string, { state: WarningState; at: number }>({ max: MAX_LIMITED_WARNINGS })
  readonly #held = new LRUCache<string, Held<T>>({ max: MAX_LIMITED_WARNINGS })

  constructor(intervalMs: number, maxPerFlush: number) {
    this.#intervalMs = intervalMs
    this.#maxPerFlush = maxPerFlush
  }

  /** The latest state of warning `key`, to go out when its interval allows. */
  offer(key: string, state: WarningState, item: T): void {
    this.#held.set(key, { state, item })
  }

  /**
   * Sends what may go out now through `send`, which returns false when
   * nothing could take it (no peer yet): that state stays held for later.
   */
  flush(now: number, send: (item: T) => boolean): number {
    let sent = 0
    for (const [key, held] of [...this.#held.entries()].reverse()) {
      if (sent >= this.#maxPerFlush) break
      const last = this.#sent.get(key)
      // Nothing to tell: the network has this state already, or never heard of a warning now cleared.
      if (last?.state === held.state || (last === undefined && held.state === 'cleared')) {
        this.#held.delete(key)
        continue
      }
      if (last !== undefined && now - last.at < this.#intervalMs) continue
      if (!send(held.item)) continue
      this.#held.delete(key)
      this.#sent.set(key, { state: held.state, at: now })
      sent++
    }
    return sent
  }

  get heldCount(): number {
    return this.#held.size
  }
}
