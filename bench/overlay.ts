/**
 * The overlay contenders.
 *
 * OverlayNodeContender: two OverlayNodes on loopback; a link is a session
 * opened with node.connect(), and the server answers from the node's 'message'
 * event. This is what an application gets, and what setup, echo and throughput
 * measure.
 *
 * OverlaySessionContender: the same layers without the node on top (one UDP
 * socket per side, ConnectionSetup, openSession). A node keeps one session per
 * peer, so many sessions between two nodes need this: the memory section uses
 * it to open hundreds of sessions between two sockets, as the baseline opens
 * hundreds of TLS connections to one server.
 */
import { OverlayNode, type OverlaySession } from '../src/node/node.js'
import { DEFAULT_LIMITS } from '../src/node/defaults.js'
import { messageCodec } from '../src/messaging/codec.js'
import { MessageType, type Message } from '../src/messaging/messages.js'
import { openSession } from '../src/session/handshake.js'
import { RevocationList } from '../src/session/revocation.js'
import { TlsConfig } from '../src/session/tls-context.js'
import type { Connection, RemoteAddress } from '../src/transport/connection.js'
import { ConnectionSetup } from '../src/transport/connection-setup.js'
import { UdpSocket } from '../src/transport/udp-socket.js'
import type { Fixture, NodeCredentials } from './fixture.js'
import { closed, type Contender, type Link, type Payload } from './link.js'
import { deferred, within, type Deferred } from './wait.js'

const SERVER_END_TIMEOUT_MS = 10_000

/**
 * Two settings differ from a node's defaults, both so that a link is exactly
 * one session carrying exactly the bench's traffic:
 * - The per-peer input limits (messages and deliveries per second) are an
 *   operator policy against abusive peers, not a cost of the transport: the
 *   baseline has none, and with the defaults (2,000 messages/s) the echo and
 *   message-rate loops would measure the limiter.
 * - Peer maintenance (target 0): a node below its target re-dials the peer of
 *   a closed session on its own, which would put a second session between the
 *   two nodes while the next measurement runs.
 * Everything else (heartbeats, HELLO exchange, codec, dispatch) is the default.
 */
const BENCH_NODE = { limits: { messagesPerSecond: 1e9, deliveriesPerSecond: 1e9 }, peers: { target: 0 } }
const CLOSE_TIMEOUT_MS = 10_000

function payloadBytes(message: Message): number {
  return message.type === MessageType.Chat ? message.text.length : 0
}

/** A session seen from both ends. The server end arrives on its own (through 'session:up' or onInbound). */
class OverlayLink implements Link {
  echo = false
  onClientReceive: ((bytes: number) => void) | null = null
  onServerReceive: ((bytes: number) => void) | null = null
  readonly session: OverlaySession
  readonly serverEnd: Deferred<OverlaySession>
  readonly #onClosed: () => void
  #drain: Deferred<void> | null = null
  #closing: Promise<void> | null = null

  constructor(session: OverlaySession, serverEnd: Deferred<OverlaySession>, onClosed: () => void) {
    this.session = session
    this.serverEnd = serverEnd
    this.#onClosed = onClosed
    session.on('message', (message) => this.onClientReceive?.(payloadBytes(message)))
    session.on('drain', () => this.#drain?.resolve())
    session.once('close', (error) => this.#drain?.reject(new Error(`session closed while waiting for drain${error ? `: ${error.code} ${error.message}` : ''}`)))
    session.deliver()
  }

  /**
   * The server end's handler: from the node's 'message' event or the server
   * session's. Only the bench's own payloads (CHAT) are echoed and counted: the
   * node's protocol messages (HELLO, PING, ...) are the node's business, and
   * echoing a HELLO back would hand the client its own record.
   */
  serverMessage(message: Message, serverSession: OverlaySession): void {
    if (message.type !== MessageType.Chat) return
    if (this.echo) serverSession.send(message)
    this.onServerReceive?.(payloadBytes(message))
  }

  send(payload: Payload): boolean {
    return this.session.send(payload as Message)
  }

  drained(): Promise<void> {
    this.#drain = deferred()
    return this.#drain.promise
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing
    const clientClosed = closed(this.session, this.session.state === 'closed')
    this.session.close()
    const both = (async () => {
      await clientClosed
      const server = await within(SERVER_END_TIMEOUT_MS, this.serverEnd.promise, 'the server end of an overlay session')
      await closed(server, server.state === 'closed')
      this.#onClosed()
    })()
    this.#closing = within(CLOSE_TIMEOUT_MS, both, 'both ends of an overlay session to close')
    return this.#closing
  }
}

/** Links by session id (a hash of the TLS exporter, equal on both ends), with the server end when it is up. */
class LinkTable {
  readonly links = new Map<string, OverlayLink>()
  readonly #serverEnds = new Map<string, Deferred<OverlaySession>>()

  serverEnd(id: string): Deferred<OverlaySession> {
    let end = this.#serverEnds.get(id)
    if (end === undefined) {
      end = deferred<OverlaySession>()
      this.#serverEnds.set(id, end)
    }
    return end
  }

  add(session: OverlaySession): OverlayLink {
    const link = new OverlayLink(session, this.serverEnd(session.id), () => {
      this.links.delete(session.id)
      this.#serverEnds.delete(session.id)
    })
    this.links.set(session.id, link)
    return link
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.close()))
  }
}

function chat(bytes: number): Message {
  return { type: MessageType.Chat, id: 0, text: 'a'.repeat(bytes) }
}

export class OverlayNodeContender implements Contender {
  readonly side = 'overlay' as const
  readonly label = 'overlay (OverlayNode: TLS 1.3 over UDX)'
  readonly client: OverlayNode
  readonly server: OverlayNode
  readonly #table = new LinkTable()
  #closing: Promise<void> | null = null

  private constructor(fixture: Fixture) {
    this.client = new OverlayNode({ host: '127.0.0.1', identity: fixture.client.identity, credentials: fixture.client.credentials, ...BENCH_NODE })
    this.server = new OverlayNode({ host: '127.0.0.1', identity: fixture.server.identity, credentials: fixture.server.credentials, ...BENCH_NODE })
    this.server.on('session:up', (session) => this.#table.serverEnd(session.id).resolve(session))
    this.server.on('message', (message, session) => this.#table.links.get(session.id)?.serverMessage(message, session))
  }

  static async start(fixture: Fixture): Promise<OverlayNodeContender> {
    const contender = new OverlayNodeContender(fixture)
    await contender.client.start()
    await contender.server.start()
    return contender
  }

  payload(bytes: number): Payload {
    return chat(bytes)
  }

  /** node.connect() resolving: the session is up on the client (the server has verified our binding). */
  async dial(): Promise<Link> {
    const session = await this.client.connect(this.server.address)
    return this.#table.add(session)
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.#closing = (async () => {
      await this.#table.closeAll()
      await Promise.all([this.client.stop(), this.server.stop()])
    })()
    return this.#closing
  }
}

/** One side of OverlaySessionContender: what OverlayNode composes, minus the one-session-per-peer registry. */
class SessionEndpoint {
  readonly socket = new UdpSocket()
  readonly setup: ConnectionSetup
  readonly address: RemoteAddress
  readonly #creds: NodeCredentials
  readonly #tls: TlsConfig
  readonly #revocation = new RevocationList()

  constructor(creds: NodeCredentials, onInbound: (connection: Connection) => void, maxHalfOpen: number) {
    this.#creds = creds
    this.#tls = new TlsConfig(creds.credentials)
    const bound = this.socket.bind(0, '127.0.0.1')
    this.address = { host: bound.host, port: bound.port }
    this.setup = new ConnectionSetup({
      socket: this.socket,
      maxHalfOpen,
      maxHalfOpenPerSource: maxHalfOpen,
      handshakeTimeoutMs: DEFAULT_LIMITS.handshakeTimeoutMs,
      dialTimeoutMs: DEFAULT_LIMITS.dialTimeoutMs,
      onInbound,
    })
  }

  open(connection: Connection): Promise<OverlaySession> {
    return openSession({
      connection,
      tls: this.#tls,
      identity: this.#creds.identity,
      revocation: this.#revocation,
      codec: messageCodec,
      maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
    })
  }

  async close(): Promise<void> {
    this.setup.close()
    await this.socket.close()
  }
}

export class OverlaySessionContender implements Contender {
  readonly side = 'overlay' as const
  readonly label = 'overlay sessions (one UDP socket per side)'
  readonly #table = new LinkTable()
  readonly #client: SessionEndpoint
  readonly #server: SessionEndpoint
  readonly #serverSessions = new Set<OverlaySession>()
  #closing: Promise<void> | null = null

  constructor(fixture: Fixture, maxHalfOpen = 1024) {
    this.#client = new SessionEndpoint(fixture.client, (connection) => connection.stream.destroy(), maxHalfOpen)
    this.#server = new SessionEndpoint(fixture.server, (connection) => void this.#accept(connection), maxHalfOpen)
  }

  payload(bytes: number): Payload {
    return chat(bytes)
  }

  async dial(): Promise<Link> {
    const connection = await this.#client.setup.dial(this.#server.address)
    const session = await this.#client.open(connection)
    return this.#table.add(session)
  }

  async #accept(connection: Connection): Promise<void> {
    let session: OverlaySession
    try {
      session = await this.#server.open(connection)
    } catch {
      return // the dialing side fails with the reason
    }
    this.#serverSessions.add(session)
    session.once('close', () => this.#serverSessions.delete(session))
    session.on('message', (message) => this.#table.links.get(session.id)?.serverMessage(message, session))
    session.deliver()
    this.#table.serverEnd(session.id).resolve(session)
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.#closing = (async () => {
      await this.#table.closeAll()
      for (const session of this.#serverSessions) session.destroy()
      await Promise.all([this.#client.close(), this.#server.close()])
    })()
    return this.#closing
  }
}
