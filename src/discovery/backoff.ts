/**
 * Exponential backoff with jitter for reconnects (as hyperswarm's retry timer):
 * delay = min(max, base * 2^failures), then a random 50-100 % of it, so nodes
 * that lost the same peer do not all come back in the same instant.
 */
export interface BackoffOptions {
  baseMs: number
  maxMs: number
  random?: () => number
}

export class Backoff {
  readonly #options: Required<BackoffOptions>
  readonly #state = new Map<string, { failures: number; notBefore: number }>()

  constructor(options: BackoffOptions) {
    this.#options = { random: Math.random, ...options }
  }

  delayFor(failures: number): number {
    const nominal = Math.min(this.#options.maxMs, this.#options.baseMs * 2 ** Math.max(0, failures - 1))
    return nominal / 2 + this.#options.random() * (nominal / 2)
  }

  /** Records a failure; returns the delay before the next attempt. */
  failed(key: string, now = Date.now()): number {
    const failures = (this.#state.get(key)?.failures ?? 0) + 1
    const delay = this.delayFor(failures)
    this.#state.set(key, { failures, notBefore: now + delay })
    return delay
  }

  succeeded(key: string): void {
    this.#state.delete(key)
  }

  ready(key: string, now = Date.now()): boolean {
    const state = this.#state.get(key)
    return state === undefined || now >= state.notBefore
  }

  failures(key: string): number {
    return this.#state.get(key)?.failures ?? 0
  }

  /** Drops state for keys not in `keep` (bounds the map to known peers). */
  retain(keep: (key: string) => boolean): void {
    for (const key of this.#state.keys()) if (!keep(key)) this.#state.delete(key)
  }
}
