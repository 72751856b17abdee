/**
 * Per-origin anti-replay window (the sliding window of IPsec ESP, RFC 4303
 * section 3.4.3): remembers the highest sequence number seen from an origin and
 * which of the WINDOW numbers below it were seen. A broadcast replayed after the
 * de-duplication cache forgot it is still refused: either its number is in the
 * window and marked, or it is below the window.
 */
const WINDOW = 1024

export class ReplayWindow {
  #highest = -1
  readonly #seen = new Uint8Array(WINDOW)

  /** True if `seq` is new (and records it); false for a replay or a number too old to judge. */
  accept(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < 0) return false
    if (seq > this.#highest) {
      const shift = Math.min(seq - this.#highest, WINDOW)
      for (let i = 1; i <= shift; i++) this.#seen[(this.#highest + i) % WINDOW] = 0
      this.#highest = seq
      this.#seen[seq % WINDOW] = 1
      return true
    }
    if (seq <= this.#highest - WINDOW) return false
    const slot = seq % WINDOW
    if (this.#seen[slot] === 1) return false
    this.#seen[slot] = 1
    return true
  }

  get highest(): number {
    return this.#highest
  }
}
