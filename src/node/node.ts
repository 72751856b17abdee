/**
 * An overlay node: composes the layers and owns their lifecycle. It does not
 * parse, dial or decide by itself; each of those lives in its own layer:
 * transport (the socket, connection setup), session (TLS and the binding),
 * messaging (heartbeats, direct messages, broadcast), discovery (JOIN, peer
 * exchange, the peer cache, reconnects), nat (hole punching, relays); the
 * services that run on sessions are built in services.ts.
 */
import { EventEmitter } from 'node:events'
import path from 'node:path'
import { LRUCache } from 'lru-cache'
import type { UdxAddress } from 'udx-native'
import { DUPLICATE_DRAIN_MS, PEER_BUCKETS_MAX } from '../constants.js'
import { PeerStore, type PeerEntry } from '../discovery/peer-store.js'
import { localCandidates, SelfRecord } from '../discovery/self-record.js'
import { abortError, ClosedError, CredentialError, OverlayError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { NodeId } from '../identity/node-id.js'
import { silentLogger, type Logger } from '../log/logger.js'
import { messageCodec } from '../messaging/codec.js'
import type { Receipt } from '../messaging/direct.js'
import { send } from '../messaging/liveness.js'
import { BroadcastKind, MessageType, type Message } from '../messaging/messages.js'
import { AddressKind } from '../messaging/peer-record.js'
import { TokenBucket } from '../messaging/rate-limit.js'
import { openSession } from '../session/handshake.js'
import { PathProbes } from '../session/path-probes.js'
import { RevocationList } from '../session/revocation.js'
import { revokedError } from '../session/session.js'
import { TlsConfig, type TlsCredentials } from '../session/tls-context.js'
import type { Connection, ConnectionPath, RemoteAddress } from '../transport/connection.js'
import { ConnectionSetup } from '../transport/connection-setup.js'
import { UdpSocket } from '../transport/udp-socket.js'
import { Counters } from './counters.js'
import {
  DEFAULT_HEARTBEAT,
  DEFAULT_LIMITS,
  DEFAULT_MESSAGING,
  DEFAULT_PEERS,
  DEFAULT_RELAY,
  type HeartbeatSettings,
  type MessagingSettings,
  type NodeLimits,
  type PeerSettings,
  type RelaySettings,
} from './defaults.js'
import { dispatch, type Services } from './dispatch.js'
import type { NodeCounts, NodeStats, OverlayNodeEvents, OverlaySession } from './events.js'
import { Links } from './links.js'
import { describePeer, type PeerInfo } from './peer-info.js'
import { resolvePeer } from './resolve.js'
import { createServices, type NodeCore } from './services.js'
import { duplicateSessionError, SessionRegistry } from './session-registry.js'

export type { ChatEvent, HandshakeFailure, NodeCounts, NodeStats, OverlayNodeEvents, OverlaySession, RelayEvent } from './events.js'

export interface OverlayNodeInit {
  identity: Identity
  credentials: TlsCredentials
  /** Listen address; defaults 0.0.0.0 and port 0 (any free port). */
  host?: string
  port?: number
  limits?: Partial<NodeLimits>
  heartbeat?: Partial<HeartbeatSettings>
  peers?: Partial<PeerSettings>
  messaging?: Partial<MessagingSettings>
  relay?: Partial<RelaySettings>
  /** Peers to join through. */
  bootstrap?: RemoteAddress[]
  /** STUN servers for the netcheck (default: bootstrap peers and public peers). */
  stun?: RemoteAddress[]
  /** Map the port on a UPnP gateway (default false here; the CLI's config turns it on). */
  upnp?: boolean
  /** Where the peer cache lives (LevelDB in <dataDir>/peers); none keeps it in memory. */
  dataDir?: string | null
  /** Node ids refused at handshake and disconnected when added later. */
  revoked?: Iterable<NodeId>
  logger?: Logger
}

type State = 'new' | 'running' | 'stopping' | 'stopped'

/** How long stop() waits for the socket to close before it returns anyway. */
const SOCKET_CLOSE_WAIT_MS = 3_000
/** How long stop() waits for its relayed sessions (their LEAVE) before it closes its sessions with their relays. */
const RELAYED_LEAVE_WAIT_MS = 500

export class OverlayNode extends EventEmitter<OverlayNodeEvents> {
  readonly identity: Identity
  readonly limits: Readonly<NodeLimits>
  readonly heartbeat: Readonly<HeartbeatSettings>
  readonly peerSettings: Readonly<PeerSettings>
  readonly messaging: Readonly<MessagingSettings>
  readonly relay: Readonly<RelaySettings>
  readonly revocation: RevocationList
  readonly log: Logger
  readonly store: PeerStore
  readonly self: SelfRecord
  readonly #tls: TlsConfig
  readonly #socket = new UdpSocket()
  readonly #setup: ConnectionSetup
  readonly #probes: PathProbes<OverlaySession>
  readonly #sessions: SessionRegistry<Message>
  readonly #services: Services
  readonly #links: Links
  /** Sockets other than the node's own that carry a session (a birthday punch's), with their setup. */
  readonly #extra = new Map<UdpSocket, ConnectionSetup>()
  readonly #counters = new Counters()
  /** Peers that had a 'peer:up' and no 'peer:down' since. */
  readonly #announced = new Set<NodeId>()
  /**
   * Sessions taken up and not closed yet: the one for each peer, and those the
   * tie-break replaced that are still read for a while (#retire).
   */
  readonly #live = new Set<OverlaySession>()
  /** The session of each peer that the tie-break replaced and is still read (#retire). */
  readonly #draining = new Map<NodeId, OverlaySession>()
  /**
   * Each peer's message budget (limits.messagesPerSecond), by peer and not by
   * session: a peer with a draining session, or one that reconnects, does not
   * get a fresh one.
   */
  readonly #inbound = new LRUCache<NodeId, TokenBucket>({ max: PEER_BUCKETS_MAX })
  /** Peers whose session the peer closed for another one; see #awaitReplacement. */
  readonly #awaitingReplacement = new Map<NodeId, (replaced: boolean) => void>()
  /** Who waits for a peer's next session:up (#sessionWith, #awaitReplacement): one lookup per session, not a listener per wait. */
  readonly #upWaiters = new Map<NodeId, Set<(session: OverlaySession) => void>>()
  /** Release checks of adopted sockets (#adoptSocket), cleared on stop. */
  readonly #releaseTimers = new Set<NodeJS.Timeout>()
  readonly #init: OverlayNodeInit
  #state: State = 'new'
  #stopping: Promise<void> | null = null
  #address: UdxAddress | null = null
  readonly startedAt = Date.now()

  constructor(init: OverlayNodeInit) {
    super()
    this.#init = init
    this.identity = init.identity
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...init.limits })
    this.heartbeat = Object.freeze({ ...DEFAULT_HEARTBEAT, ...init.heartbeat })
    this.peerSettings = Object.freeze({ ...DEFAULT_PEERS, ...init.peers })
    this.messaging = Object.freeze({ ...DEFAULT_MESSAGING, ...init.messaging })
    this.relay = Object.freeze({ ...DEFAULT_RELAY, ...init.relay })
    this.log = (init.logger ?? silentLogger).child({ node: init.identity.nodeId.slice(0, 10) })
    this.#tls = new TlsConfig(init.credentials)
    if (this.#tls.ownNodeId !== init.identity.nodeId) {
      throw new CredentialError('OVL_CERT_IDENTITY_MISMATCH', `the certificate names node ${this.#tls.ownNodeId}, but the identity is ${init.identity.nodeId}`)
    }
    this.revocation = new RevocationList(init.revoked ?? [])
    this.revocation.on('change', () => this.#dropRevoked())
    this.#links = new Links(this.log)
    // Both ends rank a relayed session below a direct one, so a punched path replaces a relay.
    this.#sessions = new SessionRegistry(init.identity.nodeId, (session) => this.#links.isRelayed(session))
    this.#setup = this.#setupFor(this.#socket)
    this.#probes = new PathProbes()
    this.#probes.listen(this.#socket)
    this.#socket.on('dropped', (reason, from) => this.emit('input:rejected', reason, from))
    this.#socket.on('close-stalled', (state) => this.log.warn(state, 'stopping: the socket still waits for streams to close'))

    this.store = new PeerStore({
      dir: init.dataDir ? path.join(init.dataDir, 'peers') : null,
      ttlMs: this.peerSettings.cacheTtlMs,
      maxEntries: this.peerSettings.cacheMax,
      logger: this.log,
    })
    this.self = new SelfRecord({ identity: init.identity, name: this.#tls.ownName })
    this.#services = createServices(this.#core())
    this.#count()
  }

  #setupFor(socket: UdpSocket): ConnectionSetup {
    const setup = new ConnectionSetup({
      socket,
      maxHalfOpen: this.limits.maxHalfOpen,
      maxHalfOpenPerSource: this.limits.maxHalfOpenPerSource,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      dialTimeoutMs: this.limits.dialTimeoutMs,
      onInbound: (connection) => void this.#accept(connection),
    })
    setup.on('dropped', (reason, from) => this.emit('input:rejected', reason, from))
    return setup
  }

  /** What the services get to work with. */
  #core(): NodeCore {
    return {
      identity: this.identity,
      log: this.log,
      limits: this.limits,
      heartbeat: this.heartbeat,
      peers: this.peerSettings,
      messaging: this.messaging,
      relay: this.relay,
      bootstrap: this.#init.bootstrap ?? [],
      stun: this.#init.stun ?? [],
      upnp: this.#init.upnp ?? false,
      socket: this.#socket,
      host: () => this.#address?.host ?? this.#init.host ?? '0.0.0.0',
      port: () => this.#address?.port ?? 0,
      store: this.store,
      self: this.self,
      sessions: this.#sessions,
      links: this.#links,
      probes: this.#probes,
      emit: (event, ...args) => (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args),
      dial: (addresses, options) => this.dial(addresses, options),
      dialOn: (socket, address, path) => this.#dialOn(socket, address, path),
      handshake: (connection) => this.#handshake(connection),
      sessionWith: (peer, ms) => this.#sessionWith(peer, ms),
      adoptSocket: (socket) => this.#adoptSocket(socket),
      announce: (session) => {
        if (this.#sessions.get(session.peerId) !== session || this.#announced.has(session.peerId)) return
        this.#announced.add(session.peerId)
        this.emit('peer:up', session)
      },
    }
  }

  #count(): void {
    const c = this.#counters
    this.on('input:rejected', (reason) => c.reject(reason))
    this.on('handshake:failed', () => c.handshakeFailures++)
    this.on('heartbeat:down', () => c.peersDeclaredDown++)
    this.on('heartbeat:missed', () => c.heartbeatsMissed++)
    this.on('session:up', () => c.sessionsOpened++)
    this.on('message', (message) => c.message(message))
  }

  /** Everything `stats` shows: counts, traffic, messaging and discovery figures. */
  stats(): NodeStats {
    const { direct, broadcast } = this.#services
    return {
      nodeId: this.nodeId,
      name: this.name,
      address: this.#address ? `${this.#address.host}:${this.#address.port}` : null,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      ...this.counts,
      knownPeers: this.store.size,
      pendingDeliveries: direct.pendingCount,
      routes: direct.routeCount,
      direct: { ...direct.stats },
      broadcast: { ...broadcast.stats },
      ...this.#counters.snapshot(this.#live),
    }
  }

  get nodeId(): NodeId {
    return this.identity.nodeId
  }

  /** The name in this node's certificate. */
  get name(): string {
    return this.#tls.ownName
  }

  get address(): RemoteAddress {
    if (this.#address === null) throw new ClosedError('OVL_NODE_CLOSED', 'node is not started')
    return { host: this.#address.host, port: this.#address.port }
  }

  get running(): boolean {
    return this.#state === 'running'
  }

  /** Counters for limits tests and stats. */
  get counts(): NodeCounts {
    return {
      sessions: this.#sessions.size,
      halfOpen: this.#setup.halfOpenCount,
      pendingDials: this.#setup.pendingDialCount,
      streams: this.#socket.streamCount,
    }
  }

  get services(): Readonly<Services> {
    return this.#services
  }

  sessions(): OverlaySession[] {
    return [...this.#sessions.values()]
  }

  session(peer: NodeId): OverlaySession | undefined {
    return this.#sessions.get(peer)
  }

  /** Peers with a session: who, where, how connected, how healthy. */
  peers(): PeerInfo[] {
    return this.sessions().map((session) => describePeer(session, this.#links.get(session), this.#services.liveness.stats(session)))
  }

  /** Every peer in the cache. */
  knownPeers(): PeerEntry[] {
    return this.store.entries()
  }

  /** A node id, unique id prefix, name or host:port, to a node id. */
  resolve(ref: string): NodeId {
    return resolvePeer(ref, this.sessions(), this.store.entries())
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new ClosedError('OVL_NODE_CLOSED', `node is ${this.#state}; a node starts once`)
    const opened = await this.store.open()
    this.#address = this.#socket.bind(this.#init.port ?? 0, this.#init.host ?? '0.0.0.0')
    this.self.setCandidates(AddressKind.Local, localCandidates(this.#address.host, this.#address.port))
    this.#state = 'running'
    this.log.info({ address: `${this.#address.host}:${this.#address.port}`, name: this.name, cachedPeers: opened.loaded }, 'node listening')
    this.#services.discovery.start()
    this.#services.nat.start()
  }

  /** Opens (or returns the existing) authenticated session to the node at `remote`. */
  async connect(remote: RemoteAddress, options: { signal?: AbortSignal } = {}): Promise<OverlaySession> {
    this.#assertRunning()
    const connection = await this.#setup.dial(remote, options)
    return this.#handshake(connection)
  }

  /**
   * A session with a known peer by whatever path works: a direct dial, a hole
   * punch coordinated through the overlay, or a relay (connector.ts).
   */
  connectPeer(peer: NodeId, options: { keep?: boolean } = {}): Promise<OverlaySession> {
    this.#assertRunning()
    // Kept sessions are opened again (with backoff) whenever they are lost.
    if (options.keep) this.#services.discovery.keep(peer)
    return this.#services.connector.connect(peer)
  }

  /**
   * Opens a session to whichever of `addresses` completes connection setup
   * first (the others are abandoned), within `timeoutMs`.
   */
  async dial(addresses: RemoteAddress[], options: { timeoutMs?: number; signal?: AbortSignal; path?: ConnectionPath } = {}): Promise<OverlaySession> {
    this.#assertRunning()
    if (addresses.length === 0) throw new OverlayError('OVL_USAGE', 'no address to dial')
    const timeoutMs = options.timeoutMs ?? this.limits.dialTimeoutMs
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new OverlayError('OVL_SETUP_TIMEOUT', `no answer from ${addresses.map((a) => `${a.host}:${a.port}`).join(', ')} within ${timeoutMs} ms`)), timeoutMs).unref()
    const onAbort = (): void => controller.abort(abortError(options.signal as AbortSignal))
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const attempts = addresses.map((remote) => this.#setup.dial(remote, { signal: controller.signal, path: options.path }))
    let winner: Connection
    try {
      winner = await Promise.any(attempts)
    } catch (err) {
      throw (err as AggregateError).errors?.[0] ?? err
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
    // The others are not needed: abandon those in flight, close those that made it too.
    controller.abort(new OverlayError('OVL_ABORTED', 'another address answered first'))
    for (const attempt of attempts) attempt.then((c) => c !== winner && c.stream.destroy(), () => {})
    return this.#handshake(winner)
  }

  /** A direct message to any node of the overlay; resolves once it is acknowledged. */
  send(peer: NodeId, text: string): Promise<Receipt> {
    this.#assertRunning()
    return this.#services.direct.send(peer, text)
  }

  /** Text to every node of the overlay. */
  broadcast(text: string): { origin: NodeId; seq: number; sentTo: number } {
    this.#assertRunning()
    return this.#services.broadcast.broadcast(BroadcastKind.Chat, Buffer.from(text, 'utf8'))
  }

  /** Round trip to a peer: a PING on its session, or an acknowledged probe through the overlay. */
  async ping(peer: NodeId, timeoutMs = this.messaging.deliveryTimeoutMs): Promise<{ rttMs: number; via: 'session' | 'routed'; hops: number }> {
    this.#assertRunning()
    const session = this.#sessions.get(peer)
    if (session?.writable) return { rttMs: await this.#services.liveness.ping(session, timeoutMs), via: 'session', hops: 1 }
    const receipt = await this.#services.direct.probe(peer)
    return { rttMs: receipt.rttMs, via: 'routed', hops: receipt.hops }
  }

  /** Graceful stop: tells every peer it is leaving, ends every session, closes the socket, clears every timer. Idempotent. */
  stop(reason = 'node stopped'): Promise<void> {
    if (this.#stopping) return this.#stopping
    this.#stopping = this.#stop(reason)
    return this.#stopping
  }

  /**
   * Stops at once, telling nobody (no LEAVE, no CLOSE or END frames): what a
   * crash looks like to peers (their sessions close as OVL_SESSION_TRUNCATED),
   * short of the process dying. Idempotent with stop().
   */
  abort(): Promise<void> {
    if (this.#stopping) return this.#stopping
    this.#stopping = this.#stop(null)
    return this.#stopping
  }

  async #stop(reason: string | null): Promise<void> {
    const wasRunning = this.#state === 'running'
    this.#state = 'stopping'
    for (const giveUp of [...this.#awaitingReplacement.values()]) giveUp(false)
    for (const timer of this.#releaseTimers) clearTimeout(timer)
    this.#releaseTimers.clear()
    this.#services.discovery.stop()
    this.#services.direct.close()
    this.#services.relayServer.stop()
    this.#services.puncher.stop()
    const natStopped = this.#services.nat.stop()
    this.#setup.close()
    for (const setup of this.#extra.values()) setup.close()
    const close = (session: OverlaySession): Promise<void> =>
      new Promise<void>((resolve) => {
        if (session.state === 'closed') return resolve()
        session.once('close', () => resolve())
        if (reason === null) return session.destroy(undefined, { notify: false })
        send(session, { type: MessageType.Leave, reason })
        session.close()
      })
    // A relay ends what it relays for this node once its own session with this node closes,
    // which would cut off the LEAVE on a relayed session (the peer would see OVL_RELAY_ENDED):
    // the sessions with the relays in use close once those have, or after RELAYED_LEAVE_WAIT_MS.
    const live = [...this.#live]
    const relayed = live.filter((session) => this.#links.isRelayed(session))
    const relays = new Set(relayed.map((session) => this.#links.get(session)?.via))
    const withRelays = live.filter((session) => !this.#links.isRelayed(session) && relays.has(session.peerId))
    this.log.debug({ sessions: live.length, relayed: relayed.length }, 'stopping: closing sessions')
    const closingRelayed = relayed.map(close)
    const closingOthers = live.filter((session) => !relayed.includes(session) && !withRelays.includes(session)).map(close)
    await settledWithin(RELAYED_LEAVE_WAIT_MS, Promise.all(closingRelayed))
    await Promise.all([...closingRelayed, ...closingOthers, ...withRelays.map(close)])
    this.#services.liveness.stop()
    await natStopped
    this.log.debug({ streams: this.#socket.streamCount }, 'stopping: closing the socket')
    await Promise.all([this.#closeSocket(this.#socket), ...[...this.#extra.keys()].map((socket) => this.#closeSocket(socket))])
    this.log.debug('stopping: closing the peer cache')
    await this.store.close()
    this.#state = 'stopped'
    if (wasRunning) this.log.info('node stopped')
  }

  /**
   * A stream whose peer vanished mid-close takes up to UDX's retransmission
   * timeout (about 13 s) to close; stop() does not wait for it: the socket
   * closes by itself once it has.
   */
  async #closeSocket(socket: UdpSocket): Promise<void> {
    const waited = await settledWithin(SOCKET_CLOSE_WAIT_MS, socket.close())
    if (!waited) this.log.warn({ streams: socket.streamCount }, 'stopped with streams still closing; the socket closes when they have')
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new ClosedError('OVL_NODE_CLOSED', `node is ${this.#state}`)
  }

  /** Connection setup and handshake from a socket other than the node's own (a birthday pool's). */
  async #dialOn(socket: UdpSocket, address: RemoteAddress, path: ConnectionPath): Promise<OverlaySession> {
    const setup = socket === this.#socket ? this.#setup : this.#extra.get(socket)
    if (setup === undefined) throw new OverlayError('OVL_INTERNAL', 'dial on a socket the node does not own')
    return this.#handshake(await setup.dial(address, { path }))
  }

  /** Takes over a socket that carries (or is about to carry) a session; closes it when that session ends. */
  #adoptSocket(socket: UdpSocket): void {
    if (socket === this.#socket || this.#extra.has(socket)) return
    this.#probes.listen(socket)
    this.#services.puncher.board.listen(socket)
    socket.on('dropped', (reason, from) => this.emit('input:rejected', reason, from))
    this.#extra.set(socket, this.#setupFor(socket))
    // Nobody used it within the handshake timeout: close it.
    const timer = setTimeout(() => {
      this.#releaseTimers.delete(timer)
      this.#releaseSocket(socket)
    }, this.limits.dialTimeoutMs + this.limits.handshakeTimeoutMs).unref()
    this.#releaseTimers.add(timer)
  }

  #releaseSocket(socket: UdpSocket): void {
    const setup = this.#extra.get(socket)
    if (setup === undefined || socket.streamCount > 0 || this.#state !== 'running') return
    this.#extra.delete(socket)
    setup.close()
    socket.close().catch((err: Error) => this.log.debug({ err: err.message }, 'closing an adopted socket failed'))
  }

  /** Calls `callback` with the peer's next session to come up; returns a cancel. */
  #whenUp(peer: NodeId, callback: (session: OverlaySession) => void): () => void {
    let waiters = this.#upWaiters.get(peer)
    if (waiters === undefined) this.#upWaiters.set(peer, (waiters = new Set()))
    waiters.add(callback)
    return () => {
      waiters.delete(callback)
      if (waiters.size === 0 && this.#upWaiters.get(peer) === waiters) this.#upWaiters.delete(peer)
    }
  }

  /** Resolves when a session with `peer` is up (already, or within `ms`). */
  #sessionWith(peer: NodeId, ms: number): Promise<OverlaySession> {
    const existing = this.#sessions.get(peer)
    if (existing?.writable) return Promise.resolve(existing)
    return new Promise((resolve, reject) => {
      const cancel = this.#whenUp(peer, (session) => {
        clearTimeout(timer)
        resolve(session)
      })
      const timer = setTimeout(() => {
        cancel()
        reject(new OverlayError('OVL_PUNCH_FAILED', `no session with ${peer.slice(0, 12)} came up within ${ms} ms`))
      }, ms).unref()
    })
  }

  async #accept(connection: Connection): Promise<void> {
    // An inbound dial from an address a punch just opened is a punched path.
    if (connection.path.kind === 'direct' && this.#services.puncher.isPunched(connection.remote)) connection.path.kind = 'punched'
    try {
      await this.#handshake(connection)
    } catch {
      // Reported through 'handshake:failed' by #handshake.
    }
  }

  async #handshake(connection: Connection): Promise<OverlaySession> {
    let session: OverlaySession
    try {
      session = await openSession({
        connection,
        tls: this.#tls,
        identity: this.identity,
        revocation: this.revocation,
        codec: messageCodec,
        maxFrameBytes: this.limits.maxFrameBytes,
      })
      // Closed by what came in the same chunk as its last handshake frame (a bad frame):
      // it was up for an instant, but is not one to take up.
      if (session.state === 'closed') throw session.closeReason ?? new ClosedError('OVL_SESSION_CLOSED', 'the session closed as it came up')
    } catch (err) {
      const error = err instanceof OverlayError ? err : new OverlayError('OVL_TLS_HANDSHAKE_FAILED', String(err), { cause: err })
      this.log.warn({ remote: `${connection.remote.host}:${connection.remote.port}`, direction: connection.direction, code: error.code, origin: error.origin }, `handshake failed: ${error.message}`)
      this.emit('handshake:failed', { remote: connection.remote, direction: connection.direction, error })
      throw error
    }
    if (this.#state !== 'running') {
      session.close()
      throw new ClosedError('OVL_NODE_CLOSED', 'node is stopping')
    }
    this.#links.record(session, connection)
    const { kept, loser } = this.#sessions.add(session)
    // A new session that lost was never taken up here: nothing from it was handled, and the
    // peer, told by the CLOSE, sends again on the kept one what it has no acknowledgement for.
    if (loser === session) session.close(duplicateSessionError(session.peer.name))
    else if (loser !== null) this.#retire(loser)
    if (kept !== session) return kept
    if (session.role === 'server' && this.#sessions.size > this.peerSettings.max) {
      // Full: the peer gets records of others to try, not a session here.
      this.#sessions.delete(session)
      this.emit('input:rejected', 'peer-limit', session.peerId)
      this.#services.discovery.refer(session)
      return session
    }
    this.#adopt(session)
    return session
  }

  /** Takes up a session that is now the one for its peer. */
  #adopt(session: OverlaySession): void {
    const link = this.#links.get(session)
    const log = this.log.child({ peer: session.peer.nodeId.slice(0, 10), peerName: session.peer.name })
    log.info({ remote: `${session.remote.host}:${session.remote.port}`, role: session.role, link: link?.kind, via: link?.via?.slice(0, 10) }, 'session up')
    const bucket = this.#inbound.get(session.peerId) ?? new TokenBucket(this.limits.messagesPerSecond, this.limits.messagesPerSecond * 2)
    this.#inbound.set(session.peerId, bucket)
    session.on('message', (message) => {
      this.#services.liveness.heard(session)
      // Answers to what this node sent on this session are not limited: a dropped ACK would make a
      // delivered message look lost (and be sent again), a dropped PONG count as a missed heartbeat.
      // Each costs a lookup of what this node waits for. (A routed ACK is forwarded work: limited.)
      if (!isAnswer(message) && !bucket.take()) {
        this.emit('input:rejected', 'rate-limited', session.peerId)
        return
      }
      this.emit('message', message, session)
      dispatch(this.#services, session, message)
    })
    this.#live.add(session)
    session.once('close', (error) => {
      this.#live.delete(session)
      this.#counters.sessionClosed(session)
      this.#probes.unregister(session)
      if (link && link.socket !== this.#socket) this.#releaseSocket(link.socket)
      // A session replaced by the tie-break is not a peer going down: another session carries it.
      const wasCurrent = this.#sessions.delete(session)
      // Direct messages it carried that are not acknowledged go again, now or on the peer's next session.
      if (this.#state === 'running') this.#services.direct.sessionClosed(session, this.#sessions.get(session.peerId))
      if (!wasCurrent) return log.debug('duplicate session closed')
      if (error) log.warn({ code: error.code, origin: error.origin }, `session closed: ${error.message}`)
      else log.info('session closed')
      this.emit('session:down', session, error)
      if (this.#replacedByPeer(error)) this.#awaitReplacement(session, error)
      else if (this.#announced.delete(session.peerId)) this.emit('peer:down', session, error)
      if (this.#state === 'running') this.#services.discovery.onSessionDown(session, error)
    })
    if (link) this.#probes.register(session, { socket: link.socket, remote: link.remote })
    this.#services.liveness.watch(session)
    this.emit('session:up', session)
    const waiters = this.#upWaiters.get(session.peerId)
    this.#upWaiters.delete(session.peerId)
    for (const waiter of waiters ?? []) waiter(session)
    this.#services.direct.sessionUp(session)
    this.#services.discovery.onSessionUp(session)
    this.#services.nat.onSessionUp()
    session.deliver()
  }

  /**
   * The tie-break replaced `session`, which this node had taken up. The peer
   * may have sent on it, before it took up the replacement too, messages and
   * acknowledgements of what this node sent on it: closing it at once would
   * lose those (a node ignores what arrives on a session it has closed). Nothing
   * new goes out on it, as it is no longer the peer's session (no heartbeats
   * either: the current one carries them); it is read for DUPLICATE_DRAIN_MS,
   * then closed. One such session per peer: an older one still draining is
   * closed now. (What either end sent on a session and has no acknowledgement
   * for when it closes goes again on the current one: see direct.sessionClosed.)
   */
  #retire(session: OverlaySession): void {
    this.#draining.get(session.peerId)?.close(duplicateSessionError(session.peer.name))
    this.#services.liveness.unwatch(session)
    const timer = setTimeout(() => session.close(duplicateSessionError(session.peer.name)), DUPLICATE_DRAIN_MS).unref()
    this.#draining.set(session.peerId, session)
    session.once('close', () => {
      clearTimeout(timer)
      if (this.#draining.get(session.peerId) === session) this.#draining.delete(session.peerId)
    })
  }

  /**
   * The peer closed this session because it keeps another one with us (both
   * dialed at once): that one is up at its end and comes up here within a
   * handshake, so the peer is not down.
   */
  #replacedByPeer(error: OverlayError | null): error is OverlayError {
    return this.#state === 'running' && error?.code === 'OVL_DUPLICATE_SESSION' && error.origin === 'remote'
  }

  /** peer:down only if the session the peer kept does not come up here in time. */
  #awaitReplacement(session: OverlaySession, error: OverlayError): void {
    const peer = session.peerId
    const done = (replaced: boolean): void => {
      clearTimeout(timer)
      cancel()
      this.#awaitingReplacement.delete(peer)
      if (replaced) return
      if (this.#sessions.get(peer) === undefined && this.#announced.delete(peer)) this.emit('peer:down', session, error)
    }
    const cancel = this.#whenUp(peer, () => done(true))
    const timer = setTimeout(() => done(false), this.limits.handshakeTimeoutMs).unref()
    this.#awaitingReplacement.set(peer, done)
  }

  #dropRevoked(): void {
    for (const session of this.#live) {
      if (this.revocation.has(session.peerId)) session.fail(revokedError(session.peer))
    }
  }
}

/** Messages that only answer one this node sent. */
function isAnswer(message: Message): boolean {
  return message.type === MessageType.Ack || message.type === MessageType.Pong
}

/** Waits for `promise`, `ms` at most; true if it settled in time (a rejection is thrown). */
async function settledWithin(ms: number, promise: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const inTime = await Promise.race([promise.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms).unref()))])
  clearTimeout(timer)
  return inTime
}
