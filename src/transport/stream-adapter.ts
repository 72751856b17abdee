/**
 * A node:stream Duplex over a UDX stream. UDX streams are streamx streams, whose
 * write() takes no callback; node:tls on top of one stalls (measured). Through
 * this adapter TLS runs as on any Duplex.
 */
import { Duplex } from 'node:stream'
import type { UDXStream } from 'udx-native'

/** Longest a stream waits, after its owner is done with it, for its last bytes to be acknowledged. */
const LINGER_MS = 2_000

export class UdxDuplex extends Duplex {
  readonly udx: UDXStream
  #onDrain: (() => void) | null = null

  constructor(stream: UDXStream) {
    super({ allowHalfOpen: false })
    this.udx = stream
    stream.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stream.pause()
    })
    stream.on('end', () => this.push(null))
    stream.on('drain', () => {
      const onDrain = this.#onDrain
      this.#onDrain = null
      onDrain?.()
    })
    stream.on('error', (err: Error) => this.destroy(err))
    stream.on('close', () => this.destroy())
  }

  override _read(): void {
    this.udx.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.udx.write(chunk)) callback()
    else this.#onDrain = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.udx.end()
    callback()
  }

  /**
   * node:tls destroys its socket right after writing its last bytes (an alert
   * after a failed handshake, close_notify): end the UDX stream instead of
   * destroying it, so those bytes reach the peer, and destroy it after
   * LINGER_MS if the peer never finishes.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#onDrain = null
    const udx = this.udx
    if (error !== null || udx.destroying || udx.destroyed) {
      udx.destroy()
    } else {
      udx.end()
      const timer = setTimeout(() => udx.destroy(), LINGER_MS).unref()
      udx.once('close', () => clearTimeout(timer))
    }
    callback(error)
  }
}
