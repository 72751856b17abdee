/**
 * Frames on a session: length-prefixed, versioned, size-limited.
 *
 *   0       4        5      6
 *   +-------+--------+------+----------------+
 *   | len   | version| type | body ...       |   len = 2 + body length (u32, big-endian)
 *   +-------+--------+------+----------------+
 *
 * The decoder checks `len` against the limit as soon as the 4 length bytes are
 * in, before it buffers or allocates anything for the body.
 */
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION, WRITE_BATCH_BYTES } from '../constants.js'
import { ProtocolError } from '../errors.js'
import { BinaryWriter } from '../util/binary.js'
import { PartialBytes } from './partial-bytes.js'

export interface Frame {
  type: number
  body: Buffer
}

export class FrameDecoder {
  readonly #maxFrameBytes: number
  /** The start of the one frame in progress, as received so far. */
  readonly #held = new PartialBytes()
  /** That frame's length field once its 4 bytes are in (and checked); -1 before. */
  #length = -1

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes
  }

  get bufferedBytes(): number {
    return this.#held.length
  }

  /**
   * Feeds bytes; calls `onFrame` for each complete frame. Throws a ProtocolError on bad input.
   * A frame begun in an earlier chunk takes from this one exactly what it lacks;
   * the frames that then lie whole in the chunk are handed out as views of it,
   * without queueing or copying; what is left starts the next frame in progress.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let offset = 0
    const held = this.#held
    while (held.length > 0 && offset < chunk.length) {
      const missing = this.#length < 0 ? 4 - held.length : 4 + this.#length - held.length
      const n = Math.min(missing, chunk.length - offset)
      held.append(chunk.subarray(offset, offset + n), this.#length < 0 ? -1 : 4 + this.#length)
      offset += n
      if (n < missing) return
      if (this.#length < 0) {
        this.#length = this.#checkLength(held.head(4).readUInt32BE(0))
        continue
      }
      const frame = held.take()
      this.#length = -1
      onFrame(this.#frame(frame, 0, frame.length))
    }
    let length = -1
    while (chunk.length - offset >= 4) {
      length = this.#checkLength(chunk.readUInt32BE(offset))
      const end = offset + 4 + length
      if (end > chunk.length) break
      onFrame(this.#frame(chunk, offset, end))
      offset = end
      length = -1
    }
    if (offset === chunk.length) return
    held.append(offset === 0 ? chunk : chunk.subarray(offset), length < 0 ? -1 : 4 + length)
    this.#length = length
  }

  /** The stream ended: leftover bytes mean a frame was cut short. */
  end(): void {
    if (this.#held.length > 0) {
      throw new ProtocolError('OVL_FRAME_TRUNCATED', `stream ended inside a frame (${this.#held.length} bytes left over)`)
    }
  }

  /** Checks a frame's length field as soon as it is in, before anything is buffered for the body. */
  #checkLength(length: number): number {
    if (length > this.#maxFrameBytes) {
      throw new ProtocolError('OVL_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`)
    }
    if (length < 2) throw new ProtocolError('OVL_FRAME_MALFORMED', `frame length ${length} is shorter than its header`)
    return length
  }

  /** The frame in bytes [start, end) of `bytes` (its length already checked). */
  #frame(bytes: Buffer, start: number, end: number): Frame {
    if (bytes[start + 4] !== PROTOCOL_VERSION) {
      throw new ProtocolError('OVL_FRAME_VERSION', `frame version ${bytes[start + 4]} is not supported (this node speaks ${PROTOCOL_VERSION})`)
    }
    return { type: bytes[start + 5] as number, body: bytes.subarray(start + FRAME_HEADER_BYTES, end) }
  }
}

export function encodeFrameHeader(type: number, bodyLength: number, target: Buffer, offset: number): void {
  target.writeUInt32BE(bodyLength + 2, offset)
  target[offset + 4] = PROTOCOL_VERSION
  target[offset + 5] = type
}

export function encodeFrame(type: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length)
  encodeFrameHeader(type, body.length, out, 0)
  out.set(body, FRAME_HEADER_BYTES)
  return out
}

/** Where a FrameWriter writes: a SecureChannel, or anything with write() (tests). */
export interface FrameSink {
  write(chunk: Buffer): boolean
}

/** The smallest batch buffer a FrameWriter starts (a message or two). */
const MIN_BATCH_BYTES = 256

/**
 * Batches frames written in the same tick into one write on the sink (one
 * sealed record instead of one per message): small messages are what separate
 * fast stacks from slow ones. Messages are encoded straight into the batch
 * (encode()), behind their frame header: no buffer per message, no copy into
 * the batch. A batch is a new buffer each time, never reused, so the sink may
 * keep what it is given; it starts as large as the last one, so a busy
 * sender's batches do not grow by copying.
 */
export class FrameWriter {
  readonly #sink: FrameSink
  #batch: BinaryWriter | null = null
  #nextBatchBytes = MIN_BATCH_BYTES
  #scheduled = false

  constructor(sink: FrameSink) {
    this.#sink = sink
  }

  get pendingBytes(): number {
    return this.#batch?.length ?? 0
  }

  /** Queues a frame of `body`; returns false when the caller should wait for the sink to drain. */
  write(type: number, body: Uint8Array): boolean {
    this.#open().u32(body.length + 2).u8(PROTOCOL_VERSION).u8(type).fixed(body)
    return this.#queued()
  }

  /**
   * Queues a frame whose body `encodeBody` writes into the batch, returning
   * the frame's type. If it throws, nothing of the frame stays queued. It
   * must not write frames itself (they would land inside this one's body).
   */
  encode<T>(encodeBody: (w: BinaryWriter, value: T) => number, value: T): boolean {
    const w = this.#open()
    const start = w.length
    w.u32(0).u16(0) // the header: its length and type are known once the body is written
    let type: number
    try {
      type = encodeBody(w, value)
    } catch (err) {
      w.truncate(start)
      if (start === 0) this.#batch = null // a batch of nothing is not kept (it may have grown large)
      throw err
    }
    w.setU32(start, w.length - start - 4)
      .setU8(start + 4, PROTOCOL_VERSION)
      .setU8(start + 5, type)
    return this.#queued()
  }

  flush(): boolean {
    const batch = this.#batch
    if (batch === null || batch.length === 0) return true
    this.#batch = null
    this.#nextBatchBytes = Math.min(Math.max(batch.length, MIN_BATCH_BYTES), 2 * WRITE_BATCH_BYTES)
    return this.#sink.write(batch.finish())
  }

  #open(): BinaryWriter {
    this.#batch ??= new BinaryWriter(this.#nextBatchBytes)
    return this.#batch
  }

  #queued(): boolean {
    if (this.pendingBytes >= WRITE_BATCH_BYTES) return this.flush()
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => {
        this.#scheduled = false
        this.flush()
      })
    }
    return true
  }
}
