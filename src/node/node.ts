/**
 * An overlay node: composes the layers and owns their lifecycle. It does not
 * parse, dial or decide by itself; each of those lives in its own layer.
 */
import { EventEmitter } from 'node:events'
import type { UdxAddress } from 'udx-native'
import { ClosedError, OverlayError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { NodeId } from '../identity/node-id.js'
import { silentLogger, type Logger } from '../log/logger.js'
import { messageCodec } from '../messaging/codec.js'
import type { Message } from '../messaging/messages.js'
import { openSession } from '../session/handshake.js'
import { RevocationList } from '../session/revocation.js'
import { revokedError, type Session } from '../session/session.js'
import { TlsConfig, type TlsCredentials } from '../session/tls-context.js'
import type { Connection, RemoteAddress } from '../transport/connection.js'
import { ConnectionSetup } from '../transport/connection-setup.js'
import { UdpSocket } from '../transport/udp-socket.js'
import { DEFAULT_LIMITS, type NodeLimits } from './defaults.js'
import { duplicateSessionError, SessionRegistry } from './session-registry.js'

export type OverlaySession = Session<Message>

export interface OverlayNodeInit {
  identity: Identity
  credentials: TlsCredentials
  /** Listen address; defaults 0.0.0.0 and port 0 (any free port). */
  host?: string
  port?: number
  limits?: Partial<NodeLimits>
  /** Node ids refused at handshake and disconnected when added later. */
  revoked?: Iterable<NodeId>
  logger?: Logger
}

export interface HandshakeFailure {
  remote: RemoteAddress
  direction: 'inbound' | 'outbound'
  error: OverlayError
}

export interface OverlayNodeEvents {
  'session:up': [session: OverlaySession]
  'session:down': [session: OverlaySession, error: OverlayError | null]
  /** A connection that did not become a session, with the reason. */
  'handshake:failed': [failure: HandshakeFailure]
  /** A datagram or setup attempt that was dropped, with the reason (for metrics). */
  'input:rejected': [reason: string, from: RemoteAddress]
  message: [message: Message, session: OverlaySession]
}

type State = 'new' | 'running' | 'stopping' | 'stopped'

export class OverlayNode extends EventEmitter<OverlayNodeEvents> {
  readonly identity: Identity
  readonly limits: Readonly<NodeLimits>
  readonly revocation: RevocationList
  readonly log: Logger
  readonly #tls: TlsConfig
  readonly #socket = new UdpSocket()
  readonly #setup: ConnectionSetup
  readonly #sessions: SessionRegistry<Message>
  readonly #init: OverlayNodeInit
  #state: State = 'new'
  #stopping: Promise<void> | null = null
  #address: UdxAddress | null = null

  constructor(init: OverlayNodeInit) {
    super()
    this.#init = init
    this.identity = init.identity
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...init.limits })
    this.log = (init.logger ?? silentLogger).child({ node: init.identity.nodeId.slice(0, 10) })
    this.#tls = new TlsConfig(init.credentials)
    if (this.#tls.ownNodeId !== init.identity.nodeId) {
      throw new OverlayError('OVL_CERT_IDENTITY_MISMATCH', `the certificate names node ${this.#tls.ownNodeId}, but the identity is ${init.identity.nodeId}`)
    }
    this.revocation = new RevocationList(init.revoked ?? [])
    this.revocation.on('change', () => this.#dropRevoked())
    this.#sessions = new SessionRegistry(init.identity.nodeId)
    this.#setup = new ConnectionSetup({
      socket: this.#socket,
      maxHalfOpen: this.limits.maxHalfOpen,
      maxHalfOpenPerSource: this.limits.maxHalfOpenPerSource,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      dialTimeoutMs: this.limits.dialTimeoutMs,
      onInbound: (connection) => void this.#accept(connection),
    })
    this.#socket.on('dropped', (reason, from) => this.emit('input:rejected', reason, from))
    this.#setup.on('dropped', (reason, from) => this.emit('input:rejected', reason, from))
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
  get counts(): { sessions: number; halfOpen: number; pendingDials: number; streams: number } {
    return { sessions: this.#sessions.size, halfOpen: this.#setup.halfOpenCount, pendingDials: this.#setup.pendingDialCount, streams: this.#socket.streamCount }
  }

  sessions(): OverlaySession[] {
    return [...this.#sessions.values()]
  }

  session(peer: NodeId): OverlaySession | undefined {
    return this.#sessions.get(peer)
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new ClosedError('OVL_NODE_CLOSED', `node is ${this.#state}; a node starts once`)
    this.#address = this.#socket.bind(this.#init.port ?? 0, this.#init.host ?? '0.0.0.0')
    this.#state = 'running'
    this.log.info({ address: `${this.#address.host}:${this.#address.port}`, name: this.name }, 'node listening')
  }

  /** Opens (or returns the existing) authenticated session to the node at `remote`. */
  async connect(remote: RemoteAddress, options: { signal?: AbortSignal } = {}): Promise<OverlaySession> {
    this.#assertRunning()
    const connection = await this.#setup.dial(remote, options)
    try {
      return await this.#handshake(connection)
    } catch (err) {
      throw err instanceof OverlayError ? err : new OverlayError('OVL_TLS_HANDSHAKE_FAILED', String(err), { cause: err })
    }
  }

  /** Graceful stop: ends every session, closes the socket, clears every timer. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping
    this.#stopping = this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping'
    this.#setup.close()
    const closing = this.sessions().map((session) => new Promise<void>((resolve) => {
      if (session.state === 'closed') return resolve()
      session.once('close', () => resolve())
      session.close()
    }))
    await Promise.all(closing)
    await this.#socket.close()
    this.#state = 'stopped'
    this.log.info('node stopped')
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new ClosedError('OVL_NODE_CLOSED', `node is ${this.#state}`)
  }

  async #accept(connection: Connection): Promise<void> {
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
    const { kept, loser } = this.#sessions.add(session)
    if (loser !== null) loser.close(duplicateSessionError(loser.peer.name))
    if (kept === session) this.#adopt(session)
    return kept
  }

  #adopt(session: OverlaySession): void {
    const log = this.log.child({ peer: session.peer.nodeId.slice(0, 10), peerName: session.peer.name })
    log.info({ remote: `${session.remote.host}:${session.remote.port}`, role: session.role }, 'session up')
    session.on('message', (message) => this.emit('message', message, session))
    session.once('close', (error) => {
      // A session replaced by the tie-break is not a peer going down: another session carries it.
      const wasCurrent = this.#sessions.delete(session)
      if (!wasCurrent) return log.debug('duplicate session closed')
      if (error) log.warn({ code: error.code, origin: error.origin }, `session closed: ${error.message}`)
      else log.info('session closed')
      this.emit('session:down', session, error)
    })
    this.emit('session:up', session)
  }

  #dropRevoked(): void {
    for (const session of this.sessions()) {
      if (this.revocation.has(session.peerId)) {
        session.fail(revokedError(session.peer))
      }
    }
  }
}
