import type { UDXStream } from 'udx-native'
import { HandshakeError } from '../errors.js'
import type { UdpSocket } from './udp-socket.js'

export interface RemoteAddress {
  host: string
  port: number
}

/**
 * How a connection reaches its peer: dialed straight to an address it
 * advertised, through a path opened by hole punching, through a port mapping
 * on the peer's gateway (UPnP), or forwarded by a relay node.
 */
export type PathKind = 'direct' | 'punched' | 'upnp' | 'relayed'

export interface ConnectionPath {
  kind: PathKind
  /** The relay's node id, for relayed connections. */
  via: string | null
}

export interface ConnectionInit {
  stream: UDXStream
  /** The socket the stream is on. */
  socket: UdpSocket
  remote: RemoteAddress
  direction: 'inbound' | 'outbound'
  handshakeTimeoutMs: number
  path?: ConnectionPath
  /** Called once when the connection stops counting as half-open. */
  onSettled?: () => void
}

/**
 * A UDX stream connected to a remote stream, before any authentication. It is
 * "half-open" until the layer above calls established(); if that does not
 * happen within the handshake timeout, `signal` aborts and the stream is
 * destroyed, so an unauthenticated peer cannot hold it.
 */
export class Connection {
  readonly stream: UDXStream
  readonly socket: UdpSocket
  readonly remote: RemoteAddress
  readonly direction: 'inbound' | 'outbound'
  readonly path: ConnectionPath
  readonly #controller = new AbortController()
  readonly #timer: NodeJS.Timeout
  readonly #onSettled: () => void
  #settled = false

  constructor(init: ConnectionInit) {
    this.stream = init.stream
    this.socket = init.socket
    this.remote = init.remote
    this.direction = init.direction
    this.path = init.path ?? { kind: 'direct', via: null }
    this.#onSettled = init.onSettled ?? (() => {})
    this.#timer = setTimeout(() => this.#expire(), init.handshakeTimeoutMs).unref()
    init.stream.once('close', () => this.#settle())
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
