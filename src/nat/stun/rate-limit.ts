/**
 * Answer budget of the STUN server: a token bucket per source IP (kept in an
 * LRU, so the state is bounded however many sources there are) and one for
 * the whole node (so many spoofed sources cannot add up to a flood).
 */
import { LRUCache } from 'lru-cache'

export interface StunRateLimits {
  perSourcePerSecond: number
  perSourceBurst: number
  totalPerSecond: number
  /** Source buckets kept; the least recently seen is forgotten first. */
  maxSources: number
}

class Bucket {
  tokens: number
  last: number

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.last = now
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

export class StunRateLimiter {
  readonly #limits: StunRateLimits
  readonly #now: () => number
  readonly #sources: LRUCache<string, Bucket>
  readonly #total: Bucket

  constructor(limits: StunRateLimits, now: () => number = () => performance.now()) {
    this.#limits = limits
    this.#now = now
    this.#sources = new LRUCache({ max: limits.maxSources })
    this.#total = new Bucket(limits.totalPerSecond, limits.totalPerSecond, now())
  }

  /** Takes one answer from `sourceIp`'s budget and the node's; false: do not answer. */
  take(sourceIp: string): boolean {
    const now = this.#now()
    let bucket = this.#sources.get(sourceIp)
    if (bucket === undefined) {
      bucket = new Bucket(this.#limits.perSourcePerSecond, this.#limits.perSourceBurst, now)
      this.#sources.set(sourceIp, bucket)
    }
    // The source's token is spent even when the node's budget is empty: a flooding source stays throttled.
    return bucket.take(now) && this.#total.take(now)
  }

  get trackedSources(): number {
    return this.#sources.size
  }
}
