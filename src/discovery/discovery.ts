/**
 * Finding and keeping peers.
 *
 * - JOIN: on every session both ends send HELLO (their signed record and the
 *   address they see the other at); the dialer then sends JOIN and gets PEERS,
 *   records of peers the other knows.
 * - Peer exchange: a record that is new or newer is stored and passed on to
 *   every other peer (the seq check stops it going round), and every
 *   `exchangeIntervalMs` a random peer is asked for its records again.
 * - Maintenance: while the node has fewer than `targetPeers` sessions it dials
 *   cached peers, most recently seen first, then the bootstrap peers, each with
 *   exponential backoff and jitter after a failure. Peers that said LEAVE are
 *   not dialed until they announce a newer record.
 *
 * Records are verified before they are stored, used or passed on.
 */
import { EventEmitter } from 'node:events'
import { MAX_RECORDS_PER_EXCHANGE } from '../constants.js'
import { OverlayError, ProtocolError, SetupError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import { send } from '../messaging/liveness.js'
import { MessageType, type HelloMessage, type JoinMessage, type LeaveMessage, type Message, type PeersMessage } from '../messaging/messages.js'
import { formatAddress, verifyRecord, type PeerRecord } from '../messaging/peer-record.js'
import { TokenBucket } from '../messaging/rate-limit.js'
import type { Session } from '../session/session.js'
import type { RemoteAddress } from '../transport/connection.js'
import { resolveHost } from '../transport/resolve-host.js'
import { Backoff } from './backoff.js'
import type { PeerStore } from './peer-store.js'
import type { SelfRecord } from './self-record.js'

type OverlaySession = Session<Message>

export interface DiscoveryHost {
  readonly nodeId: NodeId
  sessions(): OverlaySession[]
  session(peer: NodeId): OverlaySession | undefined
  /** Opens a session to whichever address answers first. */
  dial(addresses: RemoteAddress[], options: { timeoutMs: number }): Promise<OverlaySession>
  /** Opens a session to a known peer by whatever path works (direct, punched, relayed). */
  connectPeer(peer: NodeId): Promise<OverlaySession>
}

export interface DiscoveryOptions {
  bootstrap: RemoteAddress[]
  /** Dial while below this many sessions. */
  targetPeers: number
  maintainIntervalMs: number
  exchangeIntervalMs: number
  /** Dial timeout for cached peers (they may be gone; bootstrap peers get the full dial timeout). */
  cachedDialTimeoutMs: number
  dialTimeoutMs: number
  backoffBaseMs: number
  backoffMaxMs: number
}

export interface DiscoveryInit extends DiscoveryOptions {
  host: DiscoveryHost
  self: SelfRecord
  store: PeerStore
  log: Logger
}

export type DiscoveryDropReason = 'record-forged' | 'record-stale' | 'join-rate-limited'

export interface DiscoveryEvents {
  /** A verified record that is new or newer than the one we had. */
  record: [record: PeerRecord]
  /** The peer's HELLO verified: it is identified. */
  hello: [session: OverlaySession]
  dropped: [reason: DiscoveryDropReason, from: NodeId]
}

/** A session that lasted this long clears its peer's reconnect backoff. */
const SESSION_PROVEN_MS = 10_000

/** At most this many JOINs answered per peer: a burst of 2, then one per 5 s. */
const JOIN_BURST = 2
const JOINS_PER_SECOND = 0.2

export class Discovery extends EventEmitter<DiscoveryEvents> {
  readonly #init: DiscoveryInit
  readonly #backoff: Backoff
  readonly #dialing = new Set<string>()
  /** Bootstrap address -> the node that answered there. */
  readonly #bootstrapIds = new Map<string, NodeId>()
  readonly #joinBuckets = new WeakMap<OverlaySession, TokenBucket>()
  readonly #upAt = new WeakMap<OverlaySession, number>()
  /** Peers the operator asked for: kept connected whatever the target. */
  readonly #kept = new Set<NodeId>()
  #maintainTimer: NodeJS.Timeout | null = null
  #exchangeTimer: NodeJS.Timeout | null = null
  #stopped = false

  constructor(init: DiscoveryInit) {
    super()
    this.#init = init
    this.#backoff = new Backoff({ baseMs: init.backoffBaseMs, maxMs: init.backoffMaxMs })
    init.self.on('change', (record) => this.#announce([record], null))
  }

  start(): void {
    this.#maintain()
    this.#scheduleExchange()
  }

  stop(): void {
    this.#stopped = true
    if (this.#maintainTimer) clearTimeout(this.#maintainTimer)
    if (this.#exchangeTimer) clearTimeout(this.#exchangeTimer)
  }

  /** Dials now if the node is below its target (after a session went down, a record arrived...). */
  poke(): void {
    if (this.#stopped) return
    if (this.#maintainTimer) clearTimeout(this.#maintainTimer)
    this.#maintainTimer = setTimeout(() => this.#maintain(), 0).unref()
  }

  // --- sessions -----------------------------------------------------------------

  onSessionUp(session: OverlaySession): void {
    this.#upAt.set(session, performance.now())
    send(session, { type: MessageType.Hello, record: this.#init.self.record, observed: formatAddress(session.remote) })
    if (session.role === 'client') send(session, { type: MessageType.Join, want: MAX_RECORDS_PER_EXCHANGE })
  }

  onSessionDown(session: OverlaySession, error: OverlayError | null): void {
    this.#init.store.seen(session.peerId)
    // A full peer is retried with backoff like an unreachable one; a session that
    // lasted proves the peer good, and clears its backoff.
    if (error?.code === 'OVL_PEER_LIMIT') this.#backoff.failed(session.peerId)
    else if (performance.now() - (this.#upAt.get(session) ?? Infinity) > SESSION_PROVEN_MS) this.#backoff.succeeded(session.peerId)
    this.poke()
  }

  /** A session this node is too full to keep: give the peer records to try instead, then close (no HELLO: it never becomes a peer). */
  refer(session: OverlaySession): void {
    send(session, { type: MessageType.Peers, records: this.#sample(session.peerId, MAX_RECORDS_PER_EXCHANGE) })
    session.close(new OverlayError('OVL_PEER_LIMIT', 'this node is at its limit of sessions; try the peers it sent'))
  }

  // --- messages -----------------------------------------------------------------

  onHello(session: OverlaySession, message: HelloMessage): void {
    const { record } = message
    if (record.nodeId !== session.peerId || !verifyRecord(record)) {
      session.fail(new ProtocolError('OVL_RECORD_INVALID', 'the HELLO record does not verify for this peer'))
      return
    }
    this.#learn([record], session)
    this.#init.store.connected(session.peerId)
    this.#init.self.observed(message.observed, session.peerId)
    this.emit('hello', session)
  }

  onJoin(session: OverlaySession, message: JoinMessage): void {
    let bucket = this.#joinBuckets.get(session)
    if (bucket === undefined) {
      bucket = new TokenBucket(JOINS_PER_SECOND, JOIN_BURST)
      this.#joinBuckets.set(session, bucket)
    }
    if (!bucket.take()) return void this.emit('dropped', 'join-rate-limited', session.peerId)
    send(session, { type: MessageType.Peers, records: this.#sample(session.peerId, Math.min(message.want, MAX_RECORDS_PER_EXCHANGE)) })
  }

  onPeers(session: OverlaySession, message: PeersMessage): void {
    this.#learn(message.records, session)
  }

  onLeave(session: OverlaySession, message: LeaveMessage): void {
    this.#init.store.left(session.peerId)
    // It is leaving: nothing to tell it back.
    session.fail(new OverlayError('OVL_PEER_LEFT', `left the network${message.reason ? `: ${message.reason}` : ''}`, { origin: 'remote' }), { notify: false })
  }

  // --- records ------------------------------------------------------------------

  /** Stores verified records that are new or newer, and passes those on. */
  #learn(records: PeerRecord[], from: OverlaySession): void {
    const fresh: PeerRecord[] = []
    for (const record of records) {
      if (record.nodeId === this.#init.host.nodeId) continue
      const known = this.#init.store.get(record.nodeId)
      if (known && known.record.seq >= record.seq) continue
      if (!verifyRecord(record)) {
        this.emit('dropped', 'record-forged', from.peerId)
        continue
      }
      if (this.#init.store.putRecord(record)) {
        fresh.push(record)
        this.emit('record', record)
      }
    }
    if (fresh.length === 0) return
    this.#announce(fresh, from)
    this.poke()
  }

  #announce(records: PeerRecord[], except: OverlaySession | null): void {
    for (let i = 0; i < records.length; i += MAX_RECORDS_PER_EXCHANGE) {
      const batch = records.slice(i, i + MAX_RECORDS_PER_EXCHANGE)
      for (const session of this.#init.host.sessions()) {
        if (session.peerId === except?.peerId) continue
        send(session, { type: MessageType.Peers, records: batch.filter((r) => r.nodeId !== session.peerId) })
      }
    }
  }

  /** Records to hand a peer: those with live sessions first, then the most recently seen. */
  #sample(exclude: NodeId, count: number): PeerRecord[] {
    const live = new Set(this.#init.host.sessions().map((s) => s.peerId))
    return this.#init.store
      .dialOrder()
      .filter((e) => e.record.nodeId !== exclude && e.leftAt === null)
      .sort((a, b) => Number(live.has(b.record.nodeId)) - Number(live.has(a.record.nodeId)))
      .slice(0, count)
      .map((e) => e.record)
  }

  // --- keeping enough peers -------------------------------------------------------

  #maintain(): void {
    this.#maintainTimer = null
    if (this.#stopped) return
    try {
      this.#dialMore()
    } finally {
      const jittered = this.#init.maintainIntervalMs * (0.75 + Math.random() / 2)
      this.#maintainTimer = setTimeout(() => this.#maintain(), jittered).unref()
    }
  }

  /** Keeps a session with `peer` from now on: redialed (by any path, with backoff) whenever it is lost. */
  keep(peer: NodeId): void {
    this.#kept.add(peer)
  }

  #dialMore(): void {
    const connected = new Set(this.#init.host.sessions().map((s) => s.peerId))
    for (const id of this.#kept) {
      if (connected.has(id) || this.#dialing.has(id) || !this.#backoff.ready(id) || this.#init.store.get(id)?.leftAt) continue
      this.#track(id, this.#init.host.connectPeer(id), id)
    }
    let needed = this.#init.targetPeers - connected.size - this.#dialing.size
    if (needed <= 0) return
    for (const entry of this.#init.store.dialOrder()) {
      if (needed <= 0) return
      const id = entry.record.nodeId
      if (connected.has(id) || this.#dialing.has(id) || entry.leftAt !== null || !this.#backoff.ready(id)) continue
      if (entry.record.addresses.length === 0) continue
      needed--
      this.#track(id, this.#init.host.connectPeer(id), id)
    }
    for (const address of this.#init.bootstrap) {
      if (needed <= 0) return
      const key = formatAddress(address)
      const knownId = this.#bootstrapIds.get(key)
      if (knownId !== undefined && (connected.has(knownId) || this.#dialing.has(knownId) || !this.#backoff.ready(knownId))) continue
      if (this.#dialing.has(key) || !this.#backoff.ready(key)) continue
      needed--
      this.#track(key, this.#dialBootstrap(address), null)
    }
  }

  /** A bootstrap peer may be named (boot.example.net:9000): the name is resolved at each dial. */
  async #dialBootstrap(address: RemoteAddress): Promise<OverlaySession> {
    let resolved: RemoteAddress
    try {
      resolved = await resolveHost(address, this.#init.dialTimeoutMs)
    } catch (cause) {
      throw new SetupError('OVL_SETUP_ADDRESS', `bootstrap peer ${formatAddress(address)} does not resolve to an IPv4 address: ${(cause as Error).message}`, { cause })
    }
    return this.#init.host.dial([resolved], { timeoutMs: this.#init.dialTimeoutMs })
  }

  /**
   * Whether the peer is a bootstrap node: it answered at a bootstrap address
   * (named or not) when this node dialed it, or its session comes from one.
   */
  isBootstrapPeer(peer: NodeId, remote: RemoteAddress): boolean {
    for (const id of this.#bootstrapIds.values()) if (id === peer) return true
    const from = formatAddress(remote)
    return this.#init.bootstrap.some((address) => formatAddress(address) === from)
  }

  #track(key: string, dialing: Promise<OverlaySession>, expected: NodeId | null): void {
    this.#dialing.add(key)
    dialing
      .then((session) => {
        // A peer's backoff is cleared once its session has lasted (onSessionDown), not at connect:
        // a full peer accepts, then refers. A bootstrap address answered: its own count starts
        // over (a full bootstrap node is backed off under its node id, by onSessionDown).
        if (expected === null) {
          this.#bootstrapIds.set(key, session.peerId)
          this.#backoff.succeeded(key)
        }
      })
      .catch((err: OverlayError) => {
        const delay = this.#backoff.failed(key)
        if (expected !== null) this.#init.store.dialFailed(expected, err.code ?? String(err))
        // A name that does not resolve is the operator's to fix: said at warn, not debug.
        const level = err.code === 'OVL_SETUP_ADDRESS' ? 'warn' : 'debug'
        this.#init.log[level]({ peer: key.slice(0, 21), code: err.code, retryInMs: Math.round(delay) }, `dial failed: ${err.message}`)
      })
      .finally(() => {
        this.#dialing.delete(key)
      })
  }

  #scheduleExchange(): void {
    if (this.#stopped) return
    const jittered = this.#init.exchangeIntervalMs * (0.75 + Math.random() / 2)
    this.#exchangeTimer = setTimeout(() => {
      const sessions = this.#init.host.sessions()
      const peer = sessions[Math.floor(Math.random() * sessions.length)]
      if (peer) send(peer, { type: MessageType.Join, want: MAX_RECORDS_PER_EXCHANGE })
      this.#init.store.expire()
      this.#scheduleExchange()
    }, jittered).unref()
  }
}
