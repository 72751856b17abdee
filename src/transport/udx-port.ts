/**
 * What a session's channel runs on: a UDX stream with the lifecycle a session
 * needs and nothing else (no node:stream machinery between the channel and
 * UDX: that cost 2-3 us per 64-byte round trip, measured).
 *
 * Reads: udx-native hands over one packet per callback, each a view of its
 * receive buffer right behind the previous one. Small packets (an echo, a
 * heartbeat, the tail of a message) go up at once. Full-size packets, which
 * come in runs during bulk transfer, are gathered while the event loop reads
 * what the socket has, and go up together in its check phase (setImmediate) as
 * one view over the run: the channel cuts records out of a run in one pass
 * instead of holding a piece of every packet. Nothing is copied: a packet that
 * does not continue the run (udx-native moved to a new buffer) starts a new one.
 *
 * Closing: end() sends UDX's END after what was written; destroy() without an
 * error ends too and lingers until the peer has it (LINGER_MS at most), so the
 * last bytes (a CLOSE frame, a TLS alert) reach the peer; destroy(error) drops
 * the stream at once. Once both sides have ended, the port closes, as a Duplex
 * that does not allow half-open does.
 */
import { EventEmitter } from 'node:events'
import type { UDXStream } from 'udx-native'

/** Longest a stream waits, after its owner is done with it, for its last bytes to be acknowledged. */
const LINGER_MS = 2_000

/**
 * Packets at least this large are gathered (a full UDX packet carries 1,180 to
 * 1,480 bytes); smaller ones end a run and are passed on at once.
 */
const GATHER_MIN_BYTES = 1_024

/**
 * UDX streams that have sent their END after the peer's END: left to close by
 * themselves (when the END is acknowledged, or on UDX's own retransmission
 * timeout, about 13 s). Measured with udx-native 1.21.3: destroy() on such a
 * stream, when the peer is gone, never completes, and the socket can then
 * never close. UdpSocket.close() skips these.
 */
const closingByThemselves = new WeakSet<UDXStream>()

export function isClosingByItself(stream: UDXStream): boolean {
  return closingByThemselves.has(stream)
}

export interface ByteStreamEvents {
  /** Bytes in order. */
  data: [chunk: Buffer]
  /** The peer has ended its side; no 'data' follows. */
  end: []
  error: [error: Error]
  /** Emitted once, after 'error' if there is one. */
  close: []
  /** write() returned false and may be called again. */
  drain: []
}

/**
 * The byte stream a SecureChannel runs on: a UdxPort in the product, a
 * node:stream Duplex in unit tests. The events are ByteStreamEvents. A chunk
 * emitted as 'data' belongs to the listener from then on: the channel
 * decrypts records in place, in it, so a stream must neither reuse a chunk's
 * memory nor hand the same bytes to anyone else (udx-native allocates a fresh
 * read buffer once one is used up, and never writes where it has handed out).
 */
export interface ByteStream {
  write(chunk: Buffer): boolean
  end(): void
  destroy(error?: Error): void
  readonly destroyed: boolean
  readonly writableEnded: boolean
  readonly writableNeedDrain: boolean
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'end' | 'close' | 'drain', listener: () => void): unknown
}

export class UdxPort extends EventEmitter<ByteStreamEvents> implements ByteStream {
  readonly udx: UDXStream
  #remoteEnded = false
  #localEnded = false
  #needDrain = false
  #destroyed = false
  /** Packets read but not yet passed on: bytes [runStart, runEnd) of runBuffer. */
  #runBuffer: ArrayBufferLike | null = null
  #runStart = 0
  #runEnd = 0
  #flushScheduled = false
  readonly #flushRun = (): void => {
    this.#flushScheduled = false
    this.#passRun()
  }

  constructor(stream: UDXStream) {
    super()
    this.udx = stream
    stream.on('data', (chunk: Buffer) => this.#onPacket(chunk))
    stream.on('end', () => this.#onRemoteEnd())
    stream.on('drain', () => {
      this.#needDrain = false
      if (!this.#destroyed) this.emit('drain')
    })
    stream.on('error', (err: Error) => this.destroy(err))
    stream.on('close', () => this.destroy())
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  get writableEnded(): boolean {
    return this.#localEnded
  }

  get writableNeedDrain(): boolean {
    return this.#needDrain
  }

  /** Returns false when the caller should wait for 'drain'; bytes written after end() or destroy() are dropped. */
  write(chunk: Buffer): boolean {
    if (this.#localEnded || this.#destroyed) return false
    const ok = this.udx.write(chunk)
    if (!ok) this.#needDrain = true
    return ok
  }

  end(): void {
    if (this.#destroyed) return
    this.#endUdx()
    if (this.#remoteEnded) this.destroy()
  }

  destroy(error?: Error): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#runBuffer = null
    const udx = this.udx
    if (udx.destroying || udx.destroyed || closingByThemselves.has(udx)) {
      // Gone, or closing by itself (see closingByThemselves).
    } else if (error !== undefined) {
      udx.destroy()
    } else {
      this.#endUdx()
      if (!closingByThemselves.has(udx)) {
        const timer = setTimeout(() => udx.destroy(), LINGER_MS).unref()
        udx.once('close', () => clearTimeout(timer))
      }
    }
    // A turn later, as node:stream does: the caller finishes what it was doing first.
    process.nextTick(() => {
      if (error !== undefined) this.emit('error', error)
      this.emit('close')
    })
  }

  #endUdx(): void {
    if (this.#localEnded) return
    this.#localEnded = true
    if (this.#remoteEnded) closingByThemselves.add(this.udx)
    this.udx.end()
  }

  #onRemoteEnd(): void {
    this.#remoteEnded = true
    this.#passRun()
    if (this.#destroyed) return
    this.emit('end')
    // Not half-open: the peer's END is answered with ours (which closes the port),
    // a turn later as node:stream does, so what the owner writes in answer to
    // the last bytes (from a microtask) still goes out before it.
    process.nextTick(() => this.end())
  }

  #onPacket(chunk: Buffer): void {
    if (this.#destroyed) return
    if (this.#runBuffer !== null && (chunk.buffer !== this.#runBuffer || chunk.byteOffset !== this.#runEnd)) {
      this.#passRun()
      if (this.#destroyed) return // the owner closed on what the run held
    }
    if (this.#runBuffer === null) {
      if (chunk.length < GATHER_MIN_BYTES) {
        this.emit('data', chunk)
        return
      }
      this.#runBuffer = chunk.buffer
      this.#runStart = chunk.byteOffset
    }
    this.#runEnd = chunk.byteOffset + chunk.length
    if (chunk.length < GATHER_MIN_BYTES) {
      this.#passRun()
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flushRun)
    }
  }

  #passRun(): void {
    const buffer = this.#runBuffer
    if (buffer === null) return
    this.#runBuffer = null
    if (this.#destroyed) return
    this.emit('data', Buffer.from(buffer, this.#runStart, this.#runEnd - this.#runStart))
  }
}
