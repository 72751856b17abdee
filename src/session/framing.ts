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

export interface Frame {
  type: number
  body: Buffer
}

export class FrameDecoder {
  readonly #maxFrameBytes: number
  /** The start of the one frame in progress, as received so far, oldest piece first. */
  #held: Buffer[] = []
  #buffered = 0
  /** That frame's length field once its 4 bytes are in (and checked); -1 before. */
  #length = -1

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes
  }

  get bufferedBytes(): number {
    return this.#buffered
  }

  /**
   * Feeds bytes; calls `onFrame` for each complete frame. Throws a ProtocolError on bad input.
   * A frame begun in an earlier chunk takes from this one exactly what it lacks;
   * the frames that then lie whole in the chunk are handed out as views of it,
   * without queueing or copying; what is left starts the next frame in progress.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let offset = 0
    while (this.#buffered > 0 && offset < chunk.length) {
      const missing = this.#length < 0 ? 4 - this.#buffered : 4 + this.#length - this.#buffered
      const n = Math.min(missing, chunk.length - offset)
      this.#held.push(chunk.subarray(offset, offset + n))
      this.#buffered += n
      offset += n
      if (n < missing) return
      if (this.#length < 0) {
        this.#length = this.#checkLength(this.#heldLength())
        continue
      }
      const frame = this.#takeHeld()
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
    this.#held.push(offset === 0 ? chunk : chunk.subarray(offset))
    this.#buffered = chunk.length - offset
    this.#length = length
  }

  /** The stream ended: leftover bytes mean a frame was cut short. */
  end(): void {
    if (this.#buffered > 0) {
      throw new ProtocolError('OVL_FRAME_TRUNCATED', `stream ended inside a frame (${this.#buffered} bytes left over)`)
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

  /** The length field of the frame in progress, whose first 4 bytes are held. */
  #heldLength(): number {
    const first = this.#held[0] as Buffer
    return (first.length >= 4 ? first : Buffer.concat(this.#held, 4)).readUInt32BE(0)
  }

  /** The complete frame in progress, in one buffer; the decoder is then empty. */
  #takeHeld(): Buffer {
    const held = this.#held
    const frame = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, this.#buffered)
    this.#held = []
    this.#buffered = 0
    this.#length = -1
    return frame
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

/** Where a FrameWriter writes: a node:tls socket, or anything with write() (tests). */
export interface FrameSink {
  write(chunk: Buffer): boolean
  /** With cork/uncork, bodies of VECTORED_BODY_BYTES or more are passed on as they are, not copied. */
  cork?(): void
  uncork?(): void
}

/**
 * Bodies at least this large go to a corking sink as their own chunk behind a
 * 6-byte header instead of being copied into one batch buffer: node:tls joins
 * a corked run natively and encrypts it in one go, so the bytes end up in the
 * same TLS records, without a large short-lived Buffer per frame (at bulk rates
 * those made V8 run a full mark-compact every ~0.1 s, measured).
 */
export const VECTORED_BODY_BYTES = 16 * 1024

interface PendingFrame {
  type: number
  body: Uint8Array
}

/**
 * Batches frames written in the same tick into one write on the sink (one TLS
 * record run instead of one per message): small messages are what separate fast
 * stacks from slow ones. A body must not change after write(): it is read when
 * the batch is flushed, and a large one (see VECTORED_BODY_BYTES) until the sink
 * has taken it.
 */
export class FrameWriter {
  readonly #sink: FrameSink
  #pending: PendingFrame[] = []
  #pendingBytes = 0
  #largestBody = 0
  #scheduled = false

  constructor(sink: FrameSink) {
    this.#sink = sink
  }

  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /** Queues a frame; returns false when the caller should wait for the sink to drain. */
  write(type: number, body: Uint8Array): boolean {
    this.#pending.push({ type, body })
    this.#pendingBytes += FRAME_HEADER_BYTES + body.length
    if (body.length > this.#largestBody) this.#largestBody = body.length
    if (this.#pendingBytes >= WRITE_BATCH_BYTES) return this.flush()
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => {
        this.#scheduled = false
        this.flush()
      })
    }
    return true
  }

  flush(): boolean {
    const pending = this.#pending
    if (pending.length === 0) return true
    const bytes = this.#pendingBytes
    const vectored = this.#largestBody >= VECTORED_BODY_BYTES
    this.#pending = []
    this.#pendingBytes = 0
    this.#largestBody = 0
    const sink = this.#sink
    if (!vectored || sink.cork === undefined || sink.uncork === undefined) return sink.write(joinFrames(pending, bytes))
    sink.cork()
    let ok = true
    let run: PendingFrame[] = []
    let runBytes = 0
    for (const frame of pending) {
      if (frame.body.length < VECTORED_BODY_BYTES) {
        run.push(frame)
        runBytes += FRAME_HEADER_BYTES + frame.body.length
        continue
      }
      if (run.length > 0) {
        sink.write(joinFrames(run, runBytes))
        run = []
        runBytes = 0
      }
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
      encodeFrameHeader(frame.type, frame.body.length, header, 0)
      sink.write(header)
      ok = sink.write(Buffer.isBuffer(frame.body) ? frame.body : Buffer.from(frame.body.buffer, frame.body.byteOffset, frame.body.byteLength))
    }
    if (run.length > 0) ok = sink.write(joinFrames(run, runBytes))
    sink.uncork()
    return ok
  }
}

/** The frames, header and body each, in one new buffer of `bytes` bytes. */
function joinFrames(frames: PendingFrame[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes)
  let offset = 0
  for (const { type, body } of frames) {
    encodeFrameHeader(type, body.length, out, offset)
    out.set(body, offset + FRAME_HEADER_BYTES)
    offset += FRAME_HEADER_BYTES + body.length
  }
  return out
}
