/**
 * The STUN client part: Binding requests from the node's own socket, so the
 * reflexive address it learns is the mapping its sessions use.
 *
 * Each transmission carries a fresh transaction id (all of them belong to the
 * query): the answer then says which transmission it answers, so the round
 * trip is exact even after retransmissions. Retransmission follows RFC 8489
 * section 6.2.1 (RTO from 500 ms, doubling), until the query's timeout.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { LRUCache } from 'lru-cache'
import { abortError, NatError } from '../../errors.js'
import type { RemoteAddress } from '../../transport/connection.js'
import {
  STUN_DEFAULT_RTO_MS,
  STUN_DEFAULT_TIMEOUT_MS,
  STUN_FINISHED_REMEMBERED,
  STUN_FINISHED_TTL_MS,
  STUN_MAX_PENDING_TRANSACTIONS,
  STUN_MAX_RTO_MS,
  STUN_TRANSACTION_ID_BYTES,
} from '../constants.js'
import { decodeAnswer, encodeBindingRequest } from './codec.js'
import { readAttributes, type StunDropReason, type StunHeader } from './wire.js'

export interface StunQueryOptions {
  /** Give up after this long without an answer (default STUN_DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number
  /** First retransmission after this long; doubles up to STUN_MAX_RTO_MS (default STUN_DEFAULT_RTO_MS). */
  rtoMs?: number
  signal?: AbortSignal
}

export interface StunAnswer {
  server: RemoteAddress
  /** Our address as the server saw it: the reflexive address. */
  mapped: RemoteAddress
  /** From the transmission that was answered to its answer. */
  rttMs: number
  /** Requests sent for this query (1: no retransmission was needed). */
  transmissions: number
  /** Which attribute carried the address (MAPPED-ADDRESS: an RFC 3489 server). */
  attribute: 'xor-mapped-address' | 'mapped-address'
}

/** The server answered with a STUN error response. */
export class StunErrorResponse extends NatError {
  readonly stunCode: number
  readonly stunReason: string

  constructor(server: RemoteAddress, stunCode: number, stunReason: string) {
    super('OVL_STUN_ERROR_RESPONSE', `STUN server ${server.host}:${server.port} answered ${stunCode} ${stunReason}`.trim())
    this.stunCode = stunCode
    this.stunReason = stunReason
  }
}

export interface StunClientEvents {
  dropped: [reason: StunDropReason, from: RemoteAddress]
}

export interface StunClientInit {
  send: (data: Buffer, to: RemoteAddress) => void
  maxPending?: number
  now?: () => number
}

interface Query {
  server: RemoteAddress
  sentAt: Map<string, number>
  settle: (result: StunAnswer | NatError) => void
}

export class StunClient extends EventEmitter<StunClientEvents> {
  readonly #send: (data: Buffer, to: RemoteAddress) => void
  readonly #maxPending: number
  readonly #now: () => number
  readonly #pending = new Map<string, Query>()
  readonly #finished = new LRUCache<string, true>({ max: STUN_FINISHED_REMEMBERED, ttl: STUN_FINISHED_TTL_MS })
  readonly #queries = new Set<Query>()
  #closed = false

  constructor(init: StunClientInit) {
    super()
    this.#send = init.send
    this.#maxPending = init.maxPending ?? STUN_MAX_PENDING_TRANSACTIONS
    this.#now = init.now ?? (() => performance.now())
  }

  /** Transactions waiting for an answer. */
  get pendingCount(): number {
    return this.#pending.size
  }

  /** Asks `server` (an IPv4 address) for our reflexive address. Rejects with a NatError (OVL_STUN_*) or the signal's reason. */
  query(server: RemoteAddress, options: StunQueryOptions = {}): Promise<StunAnswer> {
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal))
    if (this.#closed) return Promise.reject(new NatError('OVL_STUN_CLOSED', 'the STUN endpoint is closed'))
    if (!net.isIPv4(server.host) || !Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
      return Promise.reject(new NatError('OVL_STUN_SERVER_INVALID', `STUN server ${server.host}:${server.port} is not an IPv4 address and port (resolve host names first)`))
    }
    if (this.#pending.size >= this.#maxPending) return Promise.reject(new NatError('OVL_STUN_LIMIT', `${this.#pending.size} STUN transactions are already waiting for an answer`))
    const timeoutMs = options.timeoutMs ?? STUN_DEFAULT_TIMEOUT_MS
    let rto = options.rtoMs ?? STUN_DEFAULT_RTO_MS
    const target = { host: server.host, port: server.port }

    return new Promise<StunAnswer>((resolve, reject) => {
      let retransmit: NodeJS.Timeout | undefined
      const query: Query = { server: target, sentAt: new Map(), settle: (result) => done(result) }
      const transmit = (): void => {
        // At the limit, a retransmission waits for the next turn; the first transmission always goes (checked above).
        if (this.#pending.size < this.#maxPending || query.sentAt.size === 0) {
          const id = randomBytes(STUN_TRANSACTION_ID_BYTES)
          const key = id.toString('hex')
          this.#pending.set(key, query)
          query.sentAt.set(key, this.#now())
          this.#send(encodeBindingRequest(id), target)
        }
        retransmit = setTimeout(transmit, rto)
        rto = Math.min(rto * 2, STUN_MAX_RTO_MS)
      }
      const onAbort = (): void => done(abortError(options.signal as AbortSignal))
      const deadline = setTimeout(() => {
        done(new NatError('OVL_STUN_TIMEOUT', `no STUN answer from ${target.host}:${target.port} within ${timeoutMs} ms (${query.sentAt.size} requests sent)`))
      }, timeoutMs)
      const done = (result: StunAnswer | NatError): void => {
        if (!this.#queries.delete(query)) return
        clearTimeout(retransmit)
        clearTimeout(deadline)
        options.signal?.removeEventListener('abort', onAbort)
        for (const key of query.sentAt.keys()) {
          this.#pending.delete(key)
          this.#finished.set(key, true)
        }
        if (result instanceof Error) reject(result)
        else resolve(result)
      }
      this.#queries.add(query)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      transmit()
    })
  }

  /** A success or error response whose header the endpoint has read. */
  handle(data: Buffer, header: StunHeader, from: RemoteAddress): void {
    const key = header.legacy ? '' : header.transactionId.toString('hex')
    const query = this.#pending.get(key)
    if (query === undefined) return this.#drop(this.#finished.has(key) ? 'stun-late-response' : 'stun-unsolicited-response', from)
    if (from.host !== query.server.host || from.port !== query.server.port) return this.#drop('stun-response-wrong-source', from)
    const rttMs = this.#now() - (query.sentAt.get(key) as number)
    const server = query.server
    const attributes = readAttributes(data, header)
    if (!attributes.ok) return query.settle(new NatError('OVL_STUN_BAD_RESPONSE', `STUN server ${server.host}:${server.port} answered with a ${attributes.reason === 'stun-bad-fingerprint' ? 'wrong FINGERPRINT' : 'malformed message'}`))
    const answer = decodeAnswer(data, header, attributes.value)
    switch (answer.kind) {
      case 'success':
        return query.settle({ server, mapped: answer.mapped, rttMs, transmissions: query.sentAt.size, attribute: answer.attribute })
      case 'error':
        return query.settle(new StunErrorResponse(server, answer.code, answer.reason))
      case 'invalid':
        return query.settle(new NatError('OVL_STUN_BAD_RESPONSE', `STUN server ${server.host}:${server.port}: ${answer.why}`))
    }
  }

  /** Rejects every query in flight with OVL_STUN_CLOSED; later queries are refused. Idempotent. */
  close(): void {
    this.#closed = true
    for (const query of [...this.#queries]) query.settle(new NatError('OVL_STUN_CLOSED', 'the STUN endpoint closed while a query waited'))
  }

  #drop(reason: StunDropReason, from: RemoteAddress): void {
    this.emit('dropped', reason, from)
  }
}
