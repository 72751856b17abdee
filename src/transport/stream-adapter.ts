/**
 * A node:stream Duplex over a UDX stream. UDX streams are streamx streams, whose
 * write() takes no callback; node:tls on top of one stalls (measured). Through
 * this adapter TLS runs as on any Duplex.
 *
 * Reads: udx-native hands over one packet per callback, each a view of its
 * receive buffer right behind the previous one. Small packets (an echo, a
 * heartbeat, the tail of a message) go up at once. Full-size packets, which come
 * in runs during bulk transfer, are gathered while the event loop reads what
 * the socket has, and go up together in its check phase (setImmediate) as one
 * view over the run: node:tls then decrypts a run of records in one call
 * instead of being called, and attempting a record, for every packet. Nothing
 * is copied: a packet that does not continue the run (udx-native moved to a new
 * buffer) starts a new one.
 */
import { Duplex } from 'node:stream'
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

export class UdxDuplex extends Duplex {
  readonly udx: UDXStream
  #onDrain: (() => void) | null = null
  #remoteEnded = false
  #localEnded = false
  /** Packets read but not yet pushed: bytes [runStart, runEnd) of runBuffer. */
  #runBuffer: ArrayBufferLike | null = null
  #runStart = 0
  #runEnd = 0
  #flushScheduled = false
  readonly #flushRun = (): void => {
    this.#flushScheduled = false
    this.#pushRun()
  }

  constructor(stream: UDXStream) {
    super({ allowHalfOpen: false })
    this.udx = stream
    stream.on('data', (chunk: Buffer) => this.#onPacket(chunk))
    stream.on('end', () => {
      this.#remoteEnded = true
      this.#pushRun()
      this.push(null)
    })
    stream.on('drain', () => {
      const onDrain = this.#onDrain
      this.#onDrain = null
      onDrain?.()
    })
    stream.on('error', (err: Error) => this.destroy(err))
    stream.on('close', () => this.destroy())
  }

  #onPacket(chunk: Buffer): void {
    if (this.#runBuffer !== null && (chunk.buffer !== this.#runBuffer || chunk.byteOffset !== this.#runEnd)) this.#pushRun()
    if (this.#runBuffer === null) {
      if (chunk.length < GATHER_MIN_BYTES) {
        if (!this.push(chunk)) this.udx.pause()
        return
      }
      this.#runBuffer = chunk.buffer
      this.#runStart = chunk.byteOffset
    }
    this.#runEnd = chunk.byteOffset + chunk.length
    if (chunk.length < GATHER_MIN_BYTES) {
      this.#pushRun()
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flushRun)
    }
  }

  #pushRun(): void {
    const buffer = this.#runBuffer
    if (buffer === null) return
    this.#runBuffer = null
    if (this.destroyed) return
    if (!this.push(Buffer.from(buffer, this.#runStart, this.#runEnd - this.#runStart))) this.udx.pause()
  }

  override _read(): void {
    this.udx.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.udx.write(chunk)) callback()
    else this.#onDrain = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#end()
    callback()
  }

  #end(): void {
    if (this.#localEnded) return
    this.#localEnded = true
    if (this.#remoteEnded) closingByThemselves.add(this.udx)
    this.udx.end()
  }

  /**
   * node:tls destroys its socket right after writing its last bytes (an alert
   * after a failed handshake, close_notify): end the UDX stream instead of
   * destroying it, so those bytes reach the peer, and destroy it after
   * LINGER_MS if the peer never finishes.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#onDrain = null
    this.#runBuffer = null
    const udx = this.udx
    if (udx.destroying || udx.destroyed || closingByThemselves.has(udx)) {
      // Gone, or closing by itself (see closingByThemselves).
    } else if (error !== null) {
      udx.destroy()
    } else {
      this.#end()
      if (!closingByThemselves.has(udx)) {
        const timer = setTimeout(() => udx.destroy(), LINGER_MS).unref()
        udx.once('close', () => clearTimeout(timer))
      }
    }
    callback(error)
  }
}
