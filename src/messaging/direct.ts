/**
 * Direct messages with delivery receipts. To a peer this node has a session
 * with, a CHAT on that session, answered by an ACK. To any other node of the
 * overlay, a ROUTED message signed by this node: each node on the way hands it
 * to the target if it has a session with it, else along the route it learned
 * (the peer it last heard the target through, as a learning switch does), else
 * to all its peers (flooding, bounded by the hop limit and de-duplicated). The
 * target answers with a ROUTED ACK, which finds its way back the same way.
 *
 * The sender learns "delivered" (with the path, hops and round trip), or a
 * typed failure: refused by the target's rate limit, no acknowledgement in
 * time, no peers at all.
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import { DEFAULT_DELIVERY_TIMEOUT_MS, DEFAULT_HOP_LIMIT, MAX_PENDING_DELIVERIES, PEER_BUCKETS_MAX, ROUTED_SEEN_MAX, ROUTES_MAX } from '../constants.js'
import { ClosedError, DeliveryError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { NodeId } from '../identity/node-id.js'
import type { Session } from '../session/session.js'
import { DeliveredChats } from './delivered-chats.js'
import { send } from './liveness.js'
import { AckStatus, MessageType, RoutedKind, type AckMessage, type ChatMessage, type Message, type RoutedMessage } from './messages.js'
import { TokenBucket } from './rate-limit.js'
import { signRouted, verifyRouted } from './signed.js'

type OverlaySession = Session<Message>

/** How long a learned route is trusted without being heard again. */
const ROUTE_TTL_MS = 60_000

export interface Receipt {
  target: NodeId
  via: 'session' | 'routed'
  /** Overlay hops the message took (1: a session with the target). */
  hops: number
  /** From sending to the acknowledgement (ms). */
  rttMs: number
}

export interface ChatDelivery {
  from: NodeId
  text: string
  via: 'session' | 'routed'
  hops: number
}

export type DirectDropReason = 'chat-duplicate' | 'routed-duplicate' | 'routed-forged' | 'routed-hop-limit' | 'routed-refused' | 'routed-unexpected'

/** A SIGNAL from a node with no session (yet): hole punching and relay coordination. */
export interface SignalDelivery {
  origin: NodeId
  payload: Buffer
  hops: number
}

export interface DirectEvents {
  chat: [delivery: ChatDelivery]
  signal: [signal: SignalDelivery]
  dropped: [reason: DirectDropReason, from: NodeId]
}

export interface DirectSessions {
  get(peer: NodeId): OverlaySession | undefined
  all(): Iterable<OverlaySession>
}

export interface DirectMessengerInit {
  identity: Identity
  sessions: DirectSessions
  hopLimit?: number
  timeoutMs?: number
  /** Chats delivered per second from one origin, beyond which they are refused. */
  deliveriesPerSecond: number
}

interface Pending {
  target: NodeId
  sentAt: number
  via: 'session' | 'routed'
  /**
   * A CHAT sent on a session, and that session (null: it closed, and the peer
   * has no session now): sent again on the peer's next session if that one
   * closes before it is acknowledged (sessionClosed, sessionUp).
   */
  chat?: { message: ChatMessage; session: OverlaySession | null }
  resolve: (receipt: Receipt) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

export interface DirectStats {
  sent: number
  delivered: number
  failed: number
  received: number
  relayed: number
  /** CHATs sent again on a later session (see sessionClosed). */
  resent: number
}

export class DirectMessenger extends EventEmitter<DirectEvents> {
  readonly #init: DirectMessengerInit
  readonly #hopLimit: number
  readonly #timeoutMs: number
  readonly #pending = new Map<string, Pending>()
  readonly #seen = new LRUCache<string, true>({ max: ROUTED_SEEN_MAX })
  /** One sent again (its ACK was lost with its session) is acknowledged, not delivered twice. */
  readonly #delivered = new DeliveredChats()
  readonly #routes = new LRUCache<NodeId, NodeId>({ max: ROUTES_MAX, ttl: ROUTE_TTL_MS })
  readonly #inbox = new LRUCache<NodeId, TokenBucket>({ max: PEER_BUCKETS_MAX })
  /** Starts anywhere: ids are remembered by the receiver (#delivered), and a restarted node should not reuse the last run's. */
  #chatId = crypto.randomInt(0, 0xffff_ffff)
  #closed = false
  readonly stats: DirectStats = { sent: 0, delivered: 0, failed: 0, received: 0, relayed: 0, resent: 0 }

  constructor(init: DirectMessengerInit) {
    super()
    this.#init = init
    this.#hopLimit = init.hopLimit ?? DEFAULT_HOP_LIMIT
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  }

  /** Sends `text` to `target`; resolves when it acknowledges. */
  send(target: NodeId, text: string): Promise<Receipt> {
    const session = this.#init.sessions.get(target)
    if (session?.writable) {
      this.#chatId = (this.#chatId % 0xffff_ffff) + 1
      const id = this.#chatId
      const message: ChatMessage = { type: MessageType.Chat, id, text }
      return this.#await(`c/${target}/${id}`, target, 'session', () => session.send(message), { message, session })
    }
    return this.#sendRouted(target, RoutedKind.Chat, Buffer.from(text, 'utf8'))
  }

  /** An acknowledged no-op through the overlay: a ping to a node with no session. */
  probe(target: NodeId): Promise<Receipt> {
    return this.#sendRouted(target, RoutedKind.Probe, Buffer.alloc(0))
  }

  /**
   * Sends an origin-signed SIGNAL to `target` through the overlay, with no
   * acknowledgement (the protocol that uses it answers on its own). Returns
   * false when there was no peer to send it through.
   */
  signal(target: NodeId, payload: Buffer): boolean {
    if (this.#closed) return false
    return this.#originate(target, RoutedKind.Signal, payload) > 0
  }

  /** The route a message to `target` would take: a session, a learned next hop, or a flood. */
  routeTo(target: NodeId): { via: 'session' | 'route' | 'flood'; nextHop: NodeId | null } {
    if (this.#init.sessions.get(target)?.writable) return { via: 'session', nextHop: target }
    const hop = this.#routes.get(target)
    if (hop !== undefined && this.#init.sessions.get(hop)?.writable) return { via: 'route', nextHop: hop }
    return { via: 'flood', nextHop: null }
  }

  /** Remembers that `origin` was heard through `via` (broadcasts teach routes too). */
  learn(origin: NodeId, via: NodeId): void {
    if (origin !== via && origin !== this.#init.identity.nodeId) this.#routes.set(origin, via)
  }

  onChat(session: OverlaySession, message: ChatMessage): void {
    // id 0 asks for no acknowledgement (and so is never sent again).
    const acked = message.id !== 0
    if (acked && this.#delivered.has(session.peerId, message.id)) {
      send(session, { type: MessageType.Ack, id: message.id, status: AckStatus.Delivered })
      return this.#dropped('chat-duplicate', session.peerId)
    }
    const refused = !this.#admit(session.peerId)
    if (acked) send(session, { type: MessageType.Ack, id: message.id, status: refused ? AckStatus.Refused : AckStatus.Delivered })
    if (refused) return this.#dropped('routed-refused', session.peerId)
    if (acked) this.#delivered.add(session.peerId, message.id)
    this.stats.received++
    this.emit('chat', { from: session.peerId, text: message.text, via: 'session', hops: 1 })
  }

  onAck(session: OverlaySession, message: AckMessage): void {
    this.#settle(`c/${session.peerId}/${message.id}`, message.status, 1)
  }

  onRouted(from: OverlaySession, message: RoutedMessage): void {
    const seenKey = `${message.origin}/${message.id}/${message.kind}`
    if (this.#seen.has(seenKey)) return this.#dropped('routed-duplicate', from.peerId)
    if (!verifyRouted(message)) return this.#dropped('routed-forged', from.peerId)
    this.#seen.set(seenKey, true)
    this.learn(message.origin, from.peerId)
    if (message.target !== this.#init.identity.nodeId) {
      if (message.hopLimit <= 1) return this.#dropped('routed-hop-limit', from.peerId)
      this.stats.relayed += this.#forward({ ...message, hopLimit: message.hopLimit - 1 }, from)
      return
    }
    const hops = this.#hopLimit - message.hopLimit + 1
    switch (message.kind) {
      case RoutedKind.Chat:
      case RoutedKind.Probe: {
        const refused = !this.#admit(message.origin)
        const ack = Buffer.alloc(10)
        Buffer.from(message.id, 'hex').copy(ack, 0)
        ack[8] = refused ? AckStatus.Refused : AckStatus.Delivered
        ack[9] = Math.min(hops, 255)
        this.#originate(message.origin, RoutedKind.Ack, ack)
        if (refused) return this.#dropped('routed-refused', message.origin)
        if (message.kind === RoutedKind.Chat) {
          this.stats.received++
          this.emit('chat', { from: message.origin, text: message.payload.toString('utf8'), via: 'routed', hops })
        }
        return
      }
      case RoutedKind.Signal:
        // A signal makes this node punch, spray probes or dial: under the same per-origin limit as messages.
        if (!this.#admit(message.origin)) return this.#dropped('routed-refused', message.origin)
        this.emit('signal', { origin: message.origin, payload: message.payload, hops })
        return
      case RoutedKind.Ack: {
        if (message.payload.length !== 10) return this.#dropped('routed-unexpected', from.peerId)
        const status = message.payload[8] as AckStatus
        const pending = this.#pending.get(`r/${message.payload.subarray(0, 8).toString('hex')}`)
        if (pending?.target !== message.origin) return this.#dropped('routed-unexpected', from.peerId)
        this.#settle(`r/${message.payload.subarray(0, 8).toString('hex')}`, status, message.payload[9] as number)
        return
      }
    }
  }

  get pendingCount(): number {
    return this.#pending.size
  }

  get routeCount(): number {
    return this.#routes.size
  }

  /** Fails every pending delivery; the messenger sends nothing more. */
  close(): void {
    this.#closed = true
    for (const [key, pending] of [...this.#pending]) {
      this.#pending.delete(key)
      clearTimeout(pending.timer)
      pending.reject(new ClosedError('OVL_NODE_CLOSED', 'node is stopping'))
    }
  }

  #sendRouted(target: NodeId, kind: RoutedKind, payload: Buffer): Promise<Receipt> {
    if (target === this.#init.identity.nodeId) return Promise.reject(new DeliveryError('OVL_PEER_UNKNOWN', 'that is this node'))
    const id = crypto.randomBytes(8).toString('hex')
    return this.#await(`r/${id}`, target, 'routed', () => {
      if (this.#originate(target, kind, payload, id) === 0) throw new DeliveryError('OVL_NO_ROUTE', 'no peers to send through')
    })
  }

  /** Signs a ROUTED message from this node and hands it to the overlay; returns how many peers it went to. */
  #originate(target: NodeId, kind: RoutedKind, payload: Buffer, id = crypto.randomBytes(8).toString('hex')): number {
    const signed = signRouted(this.#init.identity, { target, id, kind, payload })
    this.#seen.set(`${signed.origin}/${id}/${kind}`, true)
    return this.#forward({ type: MessageType.Routed, ...signed, hopLimit: this.#hopLimit }, null)
  }

  #forward(message: RoutedMessage, from: OverlaySession | null): number {
    const route = this.routeTo(message.target)
    if (route.nextHop !== null && route.nextHop !== from?.peerId && route.nextHop !== message.origin) {
      const session = this.#init.sessions.get(route.nextHop)
      if (session && send(session, message)) return 1
    }
    let sent = 0
    for (const session of this.#init.sessions.all()) {
      // By peer, not by session: a session the tie-break replaced is still read for a while.
      if (session.peerId === from?.peerId || session.peerId === message.origin) continue
      if (send(session, message)) sent++
    }
    return sent
  }

  /**
   * `closed` closed (for any reason) while the node runs; `current` is the
   * peer's session now, if it has one. A CHAT sent on `closed` and not
   * acknowledged may have been lost with it, or only its ACK may have been
   * (a node ignores what arrives on a session it has closed): it goes again,
   * with its id, on `current`, or on the peer's next session (sessionUp)
   * within its delivery timeout. The peer acknowledges a repeat it already
   * took without delivering it again (#delivered).
   */
  sessionClosed(closed: OverlaySession, current: OverlaySession | undefined): void {
    for (const pending of this.#pending.values()) {
      if (pending.chat?.session !== closed) continue
      pending.chat.session = null
      if (current?.writable) this.#resend(pending.chat, current)
    }
  }

  /** A session with `session.peerId` is up: what waited for one goes on it. */
  sessionUp(session: OverlaySession): void {
    if (!session.writable) return
    for (const pending of this.#pending.values()) {
      if (pending.chat?.session === null && pending.target === session.peerId) this.#resend(pending.chat, session)
    }
  }

  #resend(chat: NonNullable<Pending['chat']>, session: OverlaySession): void {
    chat.session = session
    this.stats.resent++
    session.send(chat.message)
  }

  #await(pendingKey: string, target: NodeId, via: 'session' | 'routed', transmit: () => void, chat?: Pending['chat']): Promise<Receipt> {
    if (this.#closed) return Promise.reject(new ClosedError('OVL_NODE_CLOSED', 'node is stopped'))
    if (this.#pending.size >= MAX_PENDING_DELIVERIES) {
      return Promise.reject(new DeliveryError('OVL_PENDING_LIMIT', `${MAX_PENDING_DELIVERIES} messages are already waiting for an acknowledgement`))
    }
    return new Promise<Receipt>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(pendingKey)
        this.stats.failed++
        reject(new DeliveryError('OVL_DELIVERY_TIMEOUT', `no acknowledgement from ${target.slice(0, 12)} within ${this.#timeoutMs} ms (it may be offline or unreachable)`))
      }, this.#timeoutMs).unref()
      this.#pending.set(pendingKey, { target, sentAt: performance.now(), via, resolve, reject, timer, chat })
      try {
        transmit()
        this.stats.sent++
      } catch (err) {
        this.#pending.delete(pendingKey)
        clearTimeout(timer)
        this.stats.failed++
        reject(err)
      }
    })
  }

  #settle(key: string, status: AckStatus, hops: number): void {
    const pending = this.#pending.get(key)
    if (!pending) return
    this.#pending.delete(key)
    clearTimeout(pending.timer)
    if (status === AckStatus.Refused) {
      this.stats.failed++
      pending.reject(new DeliveryError('OVL_DELIVERY_REFUSED', `${pending.target.slice(0, 12)} refused the message: over its rate limit`))
      return
    }
    this.stats.delivered++
    pending.resolve({ target: pending.target, via: pending.via, hops, rttMs: performance.now() - pending.sentAt })
  }

  #admit(origin: NodeId): boolean {
    let bucket = this.#inbox.get(origin)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#init.deliveriesPerSecond, this.#init.deliveriesPerSecond * 2)
      this.#inbox.set(origin, bucket)
    }
    return bucket.take()
  }

  #dropped(reason: DirectDropReason, from: NodeId): void {
    this.emit('dropped', reason, from)
  }
}
