/**
 * The node's one UDP socket. Every byte goes through it: UDX stream packets
 * (handled natively by udx-native), and datagrams that belong to no stream,
 * which arrive here and are dispatched by their first byte to the handler
 * registered for that kind (connection setup, STUN, ...). Anything else is
 * counted and dropped.
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import UDX, { type UDXSocket, type UDXStream, type UdxAddress } from 'udx-native'
import { ClosedError, SetupError } from '../errors.js'
import { isClosingByItself } from './udx-port.js'

export type DatagramHandler = (data: Buffer, from: UdxAddress) => void

export interface UdpSocketEvents {
  /** A datagram no handler wanted; `reason` says why (for metrics). */
  dropped: [reason: string, from: UdxAddress]
  /** close() is still waiting for streams after CLOSE_STALLED_MS: what is left, for the log. */
  'close-stalled': [state: { ids: number[]; streams: Array<Record<string, unknown>> }]
}

const CLOSE_STALLED_MS = 3_000

export class UdpSocket extends EventEmitter<UdpSocketEvents> {
  readonly udx: UDX
  readonly #socket: UDXSocket
  readonly #handlers = new Map<number, DatagramHandler>()
  readonly #streamIds = new Set<number>()
  #closing: Promise<void> | null = null

  /** `udx`: share one UDX instance between sockets (a birthday pool); by default each socket has its own. */
  constructor(options: { udx?: UDX } = {}) {
    super()
    this.udx = options.udx ?? new UDX()
    this.#socket = this.udx.createSocket()
    this.#socket.on('message', (data, from) => this.#dispatch(data, from))
  }

  /** Binds to host:port (port 0 picks a free port). IPv4 only for now. */
  bind(port: number, host: string): UdxAddress {
    try {
      this.#socket.bind(port, host)
    } catch (cause) {
      throw new SetupError('OVL_SOCKET_BIND', `cannot bind UDP ${host}:${port}: ${(cause as Error).message}`, { cause })
    }
    return this.#socket.address()
  }

  address(): UdxAddress {
    return this.#socket.address()
  }

  get raw(): UDXSocket {
    return this.#socket
  }

  get closed(): boolean {
    return this.#closing !== null
  }

  /** Registers the handler for datagrams whose first byte is `firstByte`. */
  handle(firstByte: number, handler: DatagramHandler): void {
    this.#handlers.set(firstByte, handler)
  }

  send(data: Buffer, port: number, host: string): void {
    if (this.#closing) return
    this.#socket.trySend(data, port, host)
  }

  /**
   * A new stream with a random id unused on this socket. The id is drawn from
   * the CSPRNG, not Math.random: udx-native resets a stream on a DESTROY
   * packet from any address that names its id (and a sequence number in its
   * window), and the ACCEPTs this node sends hand out ids, from which
   * Math.random's next outputs can be computed.
   */
  createStream(): UDXStream {
    if (this.#closing) throw new ClosedError('OVL_NODE_CLOSED', 'socket is closed')
    let id: number
    do id = crypto.randomInt(1, 0x1_0000_0000)
    while (this.#streamIds.has(id))
    this.#streamIds.add(id)
    const stream = this.udx.createStream(id)
    stream.once('close', () => this.#streamIds.delete(id))
    // Its owner (a UdxPort) listens for errors once it has one. Until then (a
    // relayed stream waiting for the relay's READY, a dial's stream that lost
    // to another address) a peer's reset would be an unhandled 'error' event
    // and end the process: the stream just closes, and 'close' says so.
    stream.on('error', () => {})
    return stream
  }

  get streamCount(): number {
    return this.#streamIds.size
  }

  /** Destroys every stream still open, then closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing
    for (const stream of [...this.#socket.streams]) if (!isClosingByItself(stream)) stream.destroy()
    this.#closing = this.#socket.bound ? this.#socket.close() : Promise.resolve()
    const stalled = setTimeout(() => {
      const streams = [...this.#socket.streams].map((s) => ({ id: s.id, remoteId: s.remoteId, connected: s.connected, destroyed: s.destroyed, destroying: s.destroying }))
      this.emit('close-stalled', { ids: [...this.#streamIds], streams })
    }, CLOSE_STALLED_MS).unref()
    const clear = (): void => clearTimeout(stalled)
    this.#closing.then(clear, clear) // the caller observes a failure; this branch must not leave one unobserved
    return this.#closing
  }

  #dispatch(data: Buffer, from: UdxAddress): void {
    const first = data[0]
    const handler = first === undefined ? undefined : this.#handlers.get(first)
    if (handler === undefined) {
      this.emit('dropped', first === 0xff ? 'stale-stream-packet' : 'unknown-datagram', from)
      return
    }
    handler(data, from)
  }
}
