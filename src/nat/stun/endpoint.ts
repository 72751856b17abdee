/**
 * STUN on the node's one UDP socket. Owns the datagrams whose first byte is
 * 0x00 or 0x01 (every STUN message this node deals in): requests go to the
 * server part, success and error responses to the client part, indications and
 * malformed messages are dropped with a reason.
 *
 * @example
 * const socket = new UdpSocket()
 * socket.bind(0, '0.0.0.0')
 * const stun = new StunEndpoint({ socket })
 * stun.on('dropped', (reason, from) => node.emit('input:rejected', reason, from))
 * const { mapped, rttMs } = await stun.query({ host: '198.51.100.7', port: 3478 }, { timeoutMs: 3000 })
 */
import { EventEmitter } from 'node:events'
import type { RemoteAddress } from '../../transport/connection.js'
import type { DatagramHandler } from '../../transport/udp-socket.js'
import { STUN_FIRST_BYTES } from '../constants.js'
import { StunClient, type StunAnswer, type StunQueryOptions } from './client.js'
import type { StunRateLimits } from './rate-limit.js'
import { StunServer } from './server.js'
import { readHeader, StunClass, type StunDropReason } from './wire.js'

/** What the endpoint needs of a socket: UdpSocket has it. */
export interface StunSocket {
  handle(firstByte: number, handler: DatagramHandler): void
  send(data: Buffer, port: number, host: string): void
}

export interface StunEndpointInit {
  socket: StunSocket
  /** Answer Binding requests (default true). A netcheck's throwaway socket need not. */
  serve?: boolean
  /** Server answer budget (defaults in constants.ts). */
  limits?: Partial<StunRateLimits>
  /** Client transactions in flight at once. */
  maxPending?: number
  now?: () => number
}

export interface StunEndpointEvents {
  /** A STUN datagram that was not answered or not taken, with the reason (the node's `input:rejected`). */
  dropped: [reason: StunDropReason, from: RemoteAddress]
  /** The server part answered `to` (for counters). */
  answered: [to: RemoteAddress, bytes: number, kind: 'success' | 'unknown-attribute']
}

export class StunEndpoint extends EventEmitter<StunEndpointEvents> {
  readonly server: StunServer
  readonly client: StunClient
  readonly #serve: boolean

  constructor(init: StunEndpointInit) {
    super()
    const send = (data: Buffer, to: RemoteAddress): void => init.socket.send(data, to.port, to.host)
    this.#serve = init.serve ?? true
    this.server = new StunServer({ send, ...(init.limits ? { limits: init.limits } : {}), ...(init.now ? { now: init.now } : {}) })
    this.client = new StunClient({ send, ...(init.maxPending ? { maxPending: init.maxPending } : {}), ...(init.now ? { now: init.now } : {}) })
    const drop = (reason: StunDropReason, from: RemoteAddress): void => void this.emit('dropped', reason, from)
    this.server.on('dropped', drop)
    this.client.on('dropped', drop)
    this.server.on('answered', (to, bytes, kind) => this.emit('answered', to, bytes, kind))
    for (const first of STUN_FIRST_BYTES) init.socket.handle(first, (data, from) => this.receive(data, from))
  }

  /** Our reflexive address as `server` sees it, from this socket. */
  query(server: RemoteAddress, options?: StunQueryOptions): Promise<StunAnswer> {
    return this.client.query(server, options)
  }

  /** One datagram whose first byte is 0x00 or 0x01 (the socket calls this; tests may too). */
  receive(data: Buffer, from: RemoteAddress): void {
    const source = { host: from.host, port: from.port }
    const header = readHeader(data)
    if (!header.ok) return void this.emit('dropped', header.reason, source)
    switch (header.value.cls) {
      case StunClass.Request:
        if (!this.#serve) return void this.emit('dropped', 'stun-not-serving', source)
        return this.server.handle(data, header.value, source)
      case StunClass.Indication:
        return void this.emit('dropped', 'stun-indication', source)
      case StunClass.Success:
      case StunClass.Error:
        return this.client.handle(data, header.value, source)
    }
  }

  /** Rejects the queries in flight (OVL_STUN_CLOSED). The socket is the caller's to close. Idempotent. */
  close(): void {
    this.client.close()
  }
}
