/**
 * Connection setup over the node's UDP socket: the datagram exchange that gives
 * each side the other's UDX stream id (see setup-datagram.ts for the wire
 * format and why it is safe against spoofing and amplification).
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import type { UDXStream, UdxAddress } from 'udx-native'
import { CONTROL_MAGIC, MAX_PENDING_DIALS, SETUP_RETRY_INITIAL_MS, SETUP_RETRY_MAX_MS } from '../constants.js'
import { abortError, ClosedError, SetupError } from '../errors.js'
import { Connection, type ConnectionPath, type RemoteAddress } from './connection.js'
import { CookieJar } from './cookie.js'
import { ControlType, decodeSetup, encodeSetup, isSetupType, NONCE_BYTES, RejectReason, type SetupDatagram } from './setup-datagram.js'
import type { UdpSocket } from './udp-socket.js'

export interface ConnectionSetupInit {
  socket: UdpSocket
  maxHalfOpen: number
  maxHalfOpenPerSource: number
  handshakeTimeoutMs: number
  dialTimeoutMs: number
  onInbound: (connection: Connection) => void
}

export type SetupDropReason = 'setup-malformed' | 'setup-bad-cookie' | 'setup-busy' | 'setup-unexpected'

export interface ConnectionSetupEvents {
  /** A setup datagram was refused or ignored; for metrics and tests. */
  dropped: [reason: SetupDropReason, from: UdxAddress]
}

interface PendingDial {
  stream: UDXStream
  remote: RemoteAddress
  nonce: Buffer
  cookie: Buffer | null
  retryMs: number
  retryTimer: NodeJS.Timeout | null
  /** The listener said it was at its limit at least once. */
  busy: boolean
  path: ConnectionPath | undefined
  resolve: (connection: Connection) => void
  reject: (err: Error) => void
}

interface InboundEntry {
  nonce: Buffer
  listenerStreamId: number
}

/** Spreads retries of many dialers refused at once: 50-100 % of the nominal delay. */
function jitter(ms: number): number {
  return ms / 2 + Math.random() * (ms / 2)
}

export class ConnectionSetup extends EventEmitter<ConnectionSetupEvents> {
  readonly #init: ConnectionSetupInit
  readonly #cookies = new CookieJar()
  readonly #dials = new Map<number, PendingDial>()
  /** Inbound streams by `host:port/dialerStreamId`, while the stream lives: makes CONFIRM idempotent. */
  readonly #inbound = new Map<string, InboundEntry>()
  readonly #halfOpenBySource = new Map<string, number>()
  #halfOpen = 0
  #closed = false

  constructor(init: ConnectionSetupInit) {
    super()
    this.#init = init
    init.socket.handle(CONTROL_MAGIC, (data, from) => this.#onDatagram(data, from))
  }

  /** Inbound connections not yet authenticated. */
  get halfOpenCount(): number {
    return this.#halfOpen
  }

  get pendingDialCount(): number {
    return this.#dials.size
  }

  /** Opens a UDX stream to host:port. Resolves once both sides know each other's stream id. */
  dial(remote: RemoteAddress, options: { signal?: AbortSignal; path?: ConnectionPath } = {}): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ClosedError('OVL_NODE_CLOSED', 'node is stopped'))
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal))
    if (!net.isIPv4(remote.host)) {
      return Promise.reject(new SetupError('OVL_SETUP_ADDRESS', `cannot dial "${remote.host}": not an IPv4 address (host names are resolved before dialing)`))
    }
    if (this.#dials.size >= MAX_PENDING_DIALS) {
      return Promise.reject(new SetupError('OVL_SETUP_LIMIT', `too many dials in progress (${MAX_PENDING_DIALS})`))
    }
    const stream = this.#init.socket.createStream()
    return new Promise<Connection>((resolve, reject) => {
      const deadline = setTimeout(() => {
        fail(
          dial.busy
            ? new SetupError('OVL_SETUP_REFUSED', `${remote.host}:${remote.port} stayed at its limit of pending handshakes for ${this.#init.dialTimeoutMs} ms`)
            : new SetupError('OVL_SETUP_TIMEOUT', `no answer from ${remote.host}:${remote.port} within ${this.#init.dialTimeoutMs} ms`),
        )
      }, this.#init.dialTimeoutMs).unref()
      const onAbort = (): void => fail(abortError(options.signal as AbortSignal))
      options.signal?.addEventListener('abort', onAbort, { once: true })

      const done = (): void => {
        clearTimeout(deadline)
        if (dial.retryTimer) clearTimeout(dial.retryTimer)
        options.signal?.removeEventListener('abort', onAbort)
        this.#dials.delete(stream.id)
      }
      const fail = (err: Error): void => {
        done()
        stream.destroy()
        reject(err)
      }
      const dial: PendingDial = {
        stream,
        remote,
        nonce: crypto.randomBytes(NONCE_BYTES),
        cookie: null,
        retryMs: SETUP_RETRY_INITIAL_MS,
        retryTimer: null,
        busy: false,
        path: options.path,
        resolve: (connection) => {
          done()
          resolve(connection)
        },
        reject: fail,
      }
      this.#dials.set(stream.id, dial)
      this.#sendDialStep(dial)
    })
  }

  /** Fails pending dials and stops answering setup. Streams already handed out are closed by their owners. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const dial of [...this.#dials.values()]) dial.reject(new ClosedError('OVL_NODE_CLOSED', 'node is stopping'))
  }

  #sendDialStep(dial: PendingDial): void {
    const message: SetupDatagram = dial.cookie
      ? { type: ControlType.SetupConfirm, streamId: dial.stream.id, nonce: dial.nonce, cookie: dial.cookie }
      : { type: ControlType.SetupRequest, streamId: dial.stream.id, nonce: dial.nonce }
    this.#init.socket.send(encodeSetup(message), dial.remote.port, dial.remote.host)
    if (dial.retryTimer) clearTimeout(dial.retryTimer)
    dial.retryTimer = setTimeout(() => this.#sendDialStep(dial), dial.retryMs).unref()
    dial.retryMs = Math.min(dial.retryMs * 2, SETUP_RETRY_MAX_MS)
  }

  #onDatagram(data: Buffer, from: UdxAddress): void {
    if (!isSetupType(data[2])) {
      this.emit('dropped', 'setup-unexpected', from)
      return
    }
    const message = decodeSetup(data)
    if (message === null) {
      this.emit('dropped', 'setup-malformed', from)
      return
    }
    switch (message.type) {
      case ControlType.SetupRequest:
        return this.#onRequest(message, from)
      case ControlType.SetupConfirm:
        return this.#onConfirm(message, from)
      case ControlType.SetupCookie:
      case ControlType.SetupAccept:
      case ControlType.SetupReject:
        return this.#onDialReply(message, from)
    }
  }

  #reply(message: SetupDatagram, to: UdxAddress): void {
    this.#init.socket.send(encodeSetup(message), to.port, to.host)
  }

  #onRequest(message: Extract<SetupDatagram, { type: ControlType.SetupRequest }>, from: UdxAddress): void {
    if (this.#closed) {
      this.#reply({ type: ControlType.SetupReject, streamId: message.streamId, nonce: message.nonce, reason: RejectReason.Closing }, from)
      return
    }
    const cookie = this.#cookies.make(from.host, from.port, message.streamId, message.nonce)
    this.#reply({ type: ControlType.SetupCookie, streamId: message.streamId, nonce: message.nonce, cookie }, from)
  }

  #onConfirm(message: Extract<SetupDatagram, { type: ControlType.SetupConfirm }>, from: UdxAddress): void {
    if (!this.#cookies.check(message.cookie, from.host, from.port, message.streamId, message.nonce)) {
      this.emit('dropped', 'setup-bad-cookie', from)
      return
    }
    const reject = (reason: RejectReason): void =>
      this.#reply({ type: ControlType.SetupReject, streamId: message.streamId, nonce: message.nonce, reason }, from)
    if (this.#closed) return reject(RejectReason.Closing)

    const key = `${from.host}:${from.port}/${message.streamId}`
    const known = this.#inbound.get(key)
    if (known !== undefined) {
      // A retransmitted CONFIRM (our ACCEPT was lost): answer again, allocate nothing.
      if (known.nonce.equals(message.nonce)) {
        this.#reply({ type: ControlType.SetupAccept, streamId: message.streamId, nonce: message.nonce, listenerStreamId: known.listenerStreamId }, from)
      } else {
        this.emit('dropped', 'setup-unexpected', from)
      }
      return
    }
    const fromSource = this.#halfOpenBySource.get(from.host) ?? 0
    if (this.#halfOpen >= this.#init.maxHalfOpen || fromSource >= this.#init.maxHalfOpenPerSource) {
      this.emit('dropped', 'setup-busy', from)
      return reject(RejectReason.Busy)
    }

    const stream = this.#init.socket.createStream()
    stream.connect(this.#init.socket.raw, message.streamId, from.port, from.host)
    this.#inbound.set(key, { nonce: message.nonce, listenerStreamId: stream.id })
    stream.once('close', () => this.#inbound.delete(key))
    this.#halfOpen++
    this.#halfOpenBySource.set(from.host, fromSource + 1)
    const connection = new Connection({
      stream,
      socket: this.#init.socket,
      remote: { host: from.host, port: from.port },
      direction: 'inbound',
      handshakeTimeoutMs: this.#init.handshakeTimeoutMs,
      onSettled: () => {
        this.#halfOpen--
        const left = (this.#halfOpenBySource.get(from.host) ?? 1) - 1
        if (left === 0) this.#halfOpenBySource.delete(from.host)
        else this.#halfOpenBySource.set(from.host, left)
      },
    })
    this.#reply({ type: ControlType.SetupAccept, streamId: message.streamId, nonce: message.nonce, listenerStreamId: stream.id }, from)
    this.#init.onInbound(connection)
  }

  #onDialReply(message: Extract<SetupDatagram, { type: ControlType.SetupCookie | ControlType.SetupAccept | ControlType.SetupReject }>, from: UdxAddress): void {
    const dial = this.#dials.get(message.streamId)
    if (dial === undefined || !dial.nonce.equals(message.nonce) || dial.remote.host !== from.host || dial.remote.port !== from.port) {
      this.emit('dropped', 'setup-unexpected', from)
      return
    }
    switch (message.type) {
      case ControlType.SetupCookie:
        if (dial.cookie === null) {
          dial.cookie = message.cookie
          dial.retryMs = SETUP_RETRY_INITIAL_MS
          this.#sendDialStep(dial)
        }
        return
      case ControlType.SetupReject:
        if (message.reason === RejectReason.Busy) {
          // The listener is at its half-open limit: handshakes finish in milliseconds,
          // so start over after a backoff instead of failing; the dial deadline still holds.
          dial.cookie = null
          dial.busy = true
          if (dial.retryTimer) clearTimeout(dial.retryTimer)
          dial.retryTimer = setTimeout(() => this.#sendDialStep(dial), jitter(dial.retryMs)).unref()
          dial.retryMs = Math.min(dial.retryMs * 2, SETUP_RETRY_MAX_MS)
          return
        }
        dial.reject(
          new SetupError(
            'OVL_SETUP_REFUSED',
            `${from.host}:${from.port} refused the connection (it is shutting down)`,
          ),
        )
        return
      case ControlType.SetupAccept: {
        dial.stream.connect(this.#init.socket.raw, message.listenerStreamId, from.port, from.host)
        dial.resolve(new Connection({ stream: dial.stream, socket: this.#init.socket, remote: dial.remote, direction: 'outbound', handshakeTimeoutMs: this.#init.handshakeTimeoutMs, path: dial.path }))
        return
      }
    }
  }
}
