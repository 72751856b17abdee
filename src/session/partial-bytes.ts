/**
 * The bytes of one frame or record in progress, as they arrive.
 *
 * A unit that spans a few chunks is held as views of them and joined once
 * whole (no copy until then). A peer that sends its unit in many tiny pieces
 * (one byte per sealed record, or per UDX packet) would make that a view per
 * byte, about 100 bytes of heap each: past a few pieces, they are copied into
 * one buffer of this unit's own, which grows by doubling up to the unit's
 * declared length. What is held stays within twice what was received, and
 * never above the length the caller has already checked against its limit.
 */

/** Views held before the pieces are gathered into one buffer. */
const MAX_VIEWS = 8
/** The first size of that buffer, when the unit is at least this long. */
const MIN_GATHER_BYTES = 4_096

export class PartialBytes {
  #views: Buffer[] = []
  #gathered: Buffer | null = null
  #length = 0

  /** Bytes held. */
  get length(): number {
    return this.#length
  }

  /** Adds `piece` (not copied while few are held: its memory must not change). `total` is the unit's whole length once known, else -1. */
  append(piece: Buffer, total: number): void {
    if (piece.length === 0) return
    if (this.#gathered === null) {
      this.#views.push(piece)
      this.#length += piece.length
      if (this.#views.length > MAX_VIEWS) this.#gather(total)
      return
    }
    this.#reserve(this.#length + piece.length, total)
    piece.copy(this.#gathered as Buffer, this.#length)
    this.#length += piece.length
  }

  /** The first `n` bytes (n <= length), for reading a header. */
  head(n: number): Buffer {
    if (this.#gathered !== null) return this.#gathered.subarray(0, n)
    const first = this.#views[0] as Buffer
    return first.length >= n ? first.subarray(0, n) : Buffer.concat(this.#views, n)
  }

  /** Everything held, in one buffer; the holder is empty after. */
  take(): Buffer {
    const whole = this.#gathered !== null ? this.#gathered.subarray(0, this.#length) : this.#views.length === 1 ? (this.#views[0] as Buffer) : Buffer.concat(this.#views, this.#length)
    this.#views = []
    this.#gathered = null
    this.#length = 0
    return whole
  }

  #gather(total: number): void {
    const views = this.#views
    this.#views = []
    this.#reserve(this.#length, total)
    let offset = 0
    for (const view of views) offset += view.copy(this.#gathered as Buffer, offset)
  }

  /** Room for `needed` bytes: doubling, capped at the unit's length when it is known. */
  #reserve(needed: number, total: number): void {
    const current = this.#gathered
    if (current !== null && current.length >= needed) return
    let size = Math.max(needed, MIN_GATHER_BYTES, 2 * (current?.length ?? 0))
    if (total >= needed) size = Math.min(size, total)
    const next = Buffer.allocUnsafe(size)
    if (current !== null) current.copy(next, 0, 0, this.#length)
    this.#gathered = next
  }
}
