/**
 * Bounds-checked binary reading and writing: message bodies, NAT signals, and
 * a session's batch of frames (which messages are written straight into).
 * Every read past the end or any malformed field throws a ProtocolError
 * (OVL_FRAME_MALFORMED): a peer's bytes can close its session, never crash
 * the node.
 */
import { isUtf8 } from 'node:buffer'
import { ProtocolError } from '../errors.js'

export class BinaryWriter {
  #buffer: Buffer
  #offset = 0

  constructor(initialSize = 64) {
    this.#buffer = Buffer.allocUnsafe(initialSize)
  }

  #reserve(size: number): void {
    if (this.#offset + size <= this.#buffer.length) return
    const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#offset + size))
    this.#buffer.copy(next, 0, 0, this.#offset)
    this.#buffer = next
  }

  u8(value: number): this {
    this.#reserve(1)
    this.#buffer[this.#offset++] = value
    return this
  }

  u16(value: number): this {
    this.#reserve(2)
    this.#buffer.writeUInt16BE(value, this.#offset)
    this.#offset += 2
    return this
  }

  u32(value: number): this {
    this.#reserve(4)
    this.#buffer.writeUInt32BE(value, this.#offset)
    this.#offset += 4
    return this
  }

  /** Unsigned 53-bit integer (timestamps, sequence numbers) as 8 bytes. */
  u64(value: number): this {
    this.#reserve(8)
    this.#buffer.writeBigUInt64BE(BigInt(value), this.#offset)
    this.#offset += 8
    return this
  }

  /** Bytes of a fixed, known length (keys, ids, signatures). */
  fixed(bytes: Uint8Array): this {
    this.#reserve(bytes.length)
    this.#buffer.set(bytes, this.#offset)
    this.#offset += bytes.length
    return this
  }

  /** u16 length + bytes. */
  bytes16(bytes: Uint8Array): this {
    if (bytes.length > 0xffff) throw new RangeError('field longer than 65535 bytes')
    return this.u16(bytes.length).fixed(bytes)
  }

  /** u32 length + bytes. */
  bytes32(bytes: Uint8Array): this {
    return this.u32(bytes.length).fixed(bytes)
  }

  /** u16 length + UTF-8, encoded in place (no intermediate Buffer). */
  string(text: string): this {
    const length = Buffer.byteLength(text, 'utf8')
    if (length > 0xffff) throw new RangeError('field longer than 65535 bytes')
    this.u16(length)
    this.#reserve(length)
    this.#offset += this.#buffer.write(text, this.#offset, length, 'utf8')
    return this
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#offset
  }

  /** Overwrites 4 bytes already written (a length known only once what follows is written). */
  setU32(offset: number, value: number): this {
    if (offset + 4 > this.#offset) throw new RangeError(`bytes ${offset}-${offset + 3} have not been written`)
    this.#buffer.writeUInt32BE(value, offset)
    return this
  }

  /** Overwrites a byte already written. */
  setU8(offset: number, value: number): this {
    if (offset >= this.#offset) throw new RangeError(`byte ${offset} has not been written`)
    this.#buffer[offset] = value
    return this
  }

  /** Drops everything after the first `length` bytes (what an encoding that failed half-way wrote). */
  truncate(length: number): void {
    if (length < 0 || length > this.#offset) throw new RangeError(`cannot truncate ${this.#offset} bytes to ${length}`)
    this.#offset = length
  }

  finish(): Buffer {
    return this.#buffer.subarray(0, this.#offset)
  }
}

export class BinaryReader {
  readonly #buffer: Buffer
  #offset = 0

  constructor(buffer: Buffer) {
    this.#buffer = buffer
  }

  #need(size: number, what: string): void {
    if (this.#offset + size > this.#buffer.length) {
      throw new ProtocolError('OVL_FRAME_MALFORMED', `message ends before its ${what}`)
    }
  }

  u8(what = 'byte'): number {
    this.#need(1, what)
    return this.#buffer[this.#offset++] as number
  }

  u16(what = 'u16'): number {
    this.#need(2, what)
    const value = this.#buffer.readUInt16BE(this.#offset)
    this.#offset += 2
    return value
  }

  u32(what = 'u32'): number {
    this.#need(4, what)
    const value = this.#buffer.readUInt32BE(this.#offset)
    this.#offset += 4
    return value
  }

  u64(what = 'u64'): number {
    this.#need(8, what)
    const value = this.#buffer.readBigUInt64BE(this.#offset)
    this.#offset += 8
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('OVL_FRAME_MALFORMED', `${what} is out of range`)
    return Number(value)
  }

  fixed(size: number, what = 'field'): Buffer {
    this.#need(size, what)
    const out = this.#buffer.subarray(this.#offset, this.#offset + size)
    this.#offset += size
    return out
  }

  bytes16(what = 'bytes'): Buffer {
    return this.fixed(this.u16(what), what)
  }

  bytes32(what = 'bytes'): Buffer {
    return this.fixed(this.u32(what), what)
  }

  string(what = 'text'): string {
    const bytes = this.bytes16(what)
    // Refuse invalid UTF-8 rather than pass U+FFFD replacement text along (checked in one native pass).
    if (!isUtf8(bytes)) throw new ProtocolError('OVL_FRAME_MALFORMED', `${what} is not valid UTF-8`)
    return bytes.toString('utf8')
  }

  /** Every byte must have been read: trailing garbage is malformed, not ignored. */
  end(what = 'message'): void {
    if (this.#offset !== this.#buffer.length) {
      throw new ProtocolError('OVL_FRAME_MALFORMED', `${this.#buffer.length - this.#offset} unexpected bytes after the ${what}`)
    }
  }
}
