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
  #chunks: Buffer[] = []
  #buffered = 0

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes
  }

  get bufferedBytes(): number {
    return this.#buffered
  }

  /** Feeds bytes; calls `onFrame` for each complete frame. Throws a ProtocolError on bad input. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (chunk.length === 0) return
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    while (this.#buffered >= 4) {
      const length = this.#peekLength()
      if (length > this.#maxFrameBytes) {
        throw new ProtocolError('OVL_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`)
      }
      if (length < 2) throw new ProtocolError('OVL_FRAME_MALFORMED', `frame length ${length} is shorter than its header`)
      if (this.#buffered < 4 + length) return
      const frame = this.#take(4 + length)
      if (frame[4] !== PROTOCOL_VERSION) {
        throw new ProtocolError('OVL_FRAME_VERSION', `frame version ${frame[4]} is not supported (this node speaks ${PROTOCOL_VERSION})`)
      }
      onFrame({ type: frame[5] as number, body: frame.subarray(FRAME_HEADER_BYTES) })
    }
  }

  /** The stream ended: leftover bytes mean a frame was cut short. */
  end(): void {
    if (this.#buffered > 0) {
      throw new ProtocolError('OVL_FRAME_TRUNCATED', `stream ended inside a frame (${this.#buffered} bytes left over)`)
    }
  }

  #peekLength(): number {
    const first = this.#chunks[0] as Buffer
    if (first.length >= 4) return first.readUInt32BE(0)
    const head = Buffer.concat(this.#chunks, 4)
    return head.readUInt32BE(0)
  }

  #take(size: number): Buffer {
    const first = this.#chunks[0] as Buffer
    let out: Buffer
    if (first.length >= size) {
      out = first.subarray(0, size)
      if (first.length === size) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(size)
    } else {
      out = Buffer.allocUnsafe(size)
      let offset = 0
      while (offset < size) {
        const chunk = this.#chunks[0] as Buffer
        const n = Math.min(chunk.length, size - offset)
        chunk.copy(out, offset, 0, n)
        offset += n
        if (n === chunk.length) this.#chunks.shift()
        else this.#chunks[0] = chunk.subarray(n)
      }
    }
    this.#buffered -= size
    return out
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

/**
 * Batches frames written in the same tick into one write on the sink (one TLS
 * record run instead of one per message): small messages are what separate fast
 * stacks from slow ones.
 */
export class FrameWriter {
  readonly #sink: { write(chunk: Buffer): boolean }
  #pending: Array<{ type: number; body: Uint8Array }> = []
  #pendingBytes = 0
  #scheduled = false

  constructor(sink: { write(chunk: Buffer): boolean }) {
    this.#sink = sink
  }

  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /** Queues a frame; returns false when the caller should wait for the sink to drain. */
  write(type: number, body: Uint8Array): boolean {
    this.#pending.push({ type, body })
    this.#pendingBytes += FRAME_HEADER_BYTES + body.length
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
    if (this.#pending.length === 0) return true
    const out = Buffer.allocUnsafe(this.#pendingBytes)
    let offset = 0
    for (const { type, body } of this.#pending) {
      encodeFrameHeader(type, body.length, out, offset)
      out.set(body, offset + FRAME_HEADER_BYTES)
      offset += FRAME_HEADER_BYTES + body.length
    }
    this.#pending = []
    this.#pendingBytes = 0
    return this.#sink.write(out)
  }
}
