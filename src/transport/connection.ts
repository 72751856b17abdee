import type { UDXStream } from 'udx-native'
import { HandshakeError } from '../errors.js'

export interface RemoteAddress {
  host: string
  port: number
}

/**
 * A UDX stream connected to a remote stream, before any authentication. It is
 * "half-open" until the layer above calls established(); if that does not
 * happen within the handshake timeout, `signal` aborts and the stream is
 * destroyed, so an unauthenticated peer cannot hold it.
 */
export class Connection {
  readonly stream: UDXStream
  readonly remote: RemoteAddress
  readonly direction: 'inbound' | 'outbound'
  readonly #controller = new AbortController()
  readonly #timer: NodeJS.Timeout
  readonly #onSettled: () => void
  #settled = false

  constructor(stream: UDXStream, remote: RemoteAddress, direction: 'inbound' | 'outbound', handshakeTimeoutMs: number, onSettled: () => void) {
    this.stream = stream
    this.remote = remote
    this.direction = direction
    this.#onSettled = onSettled
    this.#timer = setTimeout(() => this.#expire(), handshakeTimeoutMs).unref()
    stream.once('close', () => this.#settle())
  }

  /** Aborts (with a HandshakeError, code OVL_HANDSHAKE_TIMEOUT) when the half-open deadline passes. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get halfOpen(): boolean {
    return !this.#settled
  }

  /** The session on this stream is authenticated: it no longer counts against the half-open limits. */
  established(): void {
    this.#settle()
  }

  #expire(): void {
    if (this.#settled) return
    this.#controller.abort(
      new HandshakeError('OVL_HANDSHAKE_TIMEOUT', `no authenticated session with ${this.remote.host}:${this.remote.port} within the handshake timeout`),
    )
    this.stream.destroy()
    this.#settle()
  }

  #settle(): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#timer)
    this.#onSettled()
  }
}
