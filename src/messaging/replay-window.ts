/**
 * Per-origin anti-replay window over sequence numbers that are times (the
 * idea of IPsec's sliding window, RFC 4303 3.4.3, with a width in time rather
 * than in packets, since broadcasts of one origin may arrive out of order over
 * different paths). It remembers every seq accepted within `width` of the
 * highest; anything older than that, or already seen, is refused. So a replay
 * is refused even after the de-duplication cache has forgotten it.
 *
 * At most `maxEntries` are kept: an origin that sends faster than that per
 * window raises the floor, which refuses only its own oldest messages.
 */
export class ReplayWindow {
  readonly #width: number
  readonly #maxEntries: number
  readonly #seen = new Set<number>()
  #floor = -Infinity
  #highest = -Infinity

  constructor(width: number, maxEntries = 1024) {
    this.#width = width
    this.#maxEntries = maxEntries
  }

  /** True if `seq` is new (and records it); false for a replay or a number too old to judge. */
  accept(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq <= this.#floor || this.#seen.has(seq)) return false
    this.#seen.add(seq)
    if (seq > this.#highest) {
      this.#highest = seq
      this.#floor = Math.max(this.#floor, seq - this.#width)
    }
    if (this.#seen.size > this.#maxEntries) {
      // Entries at or below the floor are refused anyway; forget them only when memory asks.
      this.#prune()
      if (this.#seen.size > this.#maxEntries) {
        this.#floor = Math.min(...this.#seen)
        this.#prune()
      }
    }
    return true
  }

  get highest(): number {
    return this.#highest
  }

  get size(): number {
    return this.#seen.size
  }

  #prune(): void {
    for (const seq of this.#seen) if (seq <= this.#floor) this.#seen.delete(seq)
  }
}
