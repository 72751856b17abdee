/**
 * Warnings received from other nodes in METRIC_WARNING broadcasts: held until
 * their origin clears them, forgotten after a time if it never does (it may
 * have gone), and bounded in number (the oldest go first).
 */
import { LRUCache } from 'lru-cache'
import type { NodeId } from '../identity/node-id.js'
import { MAX_REMOTE_WARNINGS, REMOTE_WARNING_TTL_MS } from './defaults.js'
import type { WarningPayload } from './warning-codec.js'
import { describeReading, warningKey, type Warning } from './warning.js'

export class RemoteWarnings {
  readonly #warnings: LRUCache<string, Warning>

  constructor(options: { max?: number; ttlMs?: number; now?: () => number } = {}) {
    const now = options.now
    this.#warnings = new LRUCache<string, Warning>({
      max: options.max ?? MAX_REMOTE_WARNINGS,
      ttl: options.ttlMs ?? REMOTE_WARNING_TTL_MS,
      // Look at the clock on every check (a handful of warnings; the default caches it for a timer tick).
      ttlResolution: 0,
      ...(now ? { perf: { now } } : {}),
    })
  }

  /**
   * Applies what `origin` said. Returns the warning to report, and whether it
   * is new (a raise already held only updates its figures).
   */
  apply(origin: NodeId, payload: WarningPayload, names: { origin: string | null; subject: string | null }): { warning: Warning; isNew: boolean } {
    const key = warningKey(origin, payload.metric, payload.subject)
    const warning: Warning = {
      key,
      origin,
      originName: names.origin,
      metric: payload.metric,
      subject: payload.subject,
      subjectName: names.subject,
      value: payload.value,
      threshold: payload.threshold,
      local: false,
      since: payload.since,
      text: describeReading(payload, names.subject),
    }
    const had = this.#warnings.has(key)
    if (payload.state === 'cleared') this.#warnings.delete(key)
    else this.#warnings.set(key, warning)
    return { warning, isNew: !had }
  }

  list(): Warning[] {
    this.#warnings.purgeStale()
    return [...this.#warnings.values()]
  }

  get size(): number {
    this.#warnings.purgeStale()
    return this.#warnings.size
  }
}
