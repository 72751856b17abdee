/**
 * The two ends of a relayed session (relay-server.ts has the relay's side).
 * The initiator asks a relay it has a session with for two streams, invites
 * the target through the overlay, and both connect a stream of their own to
 * the relay's; once the relay says READY they run TLS and the Ed25519 binding
 * end to end, as on any other connection. The relay sees ciphertext only.
 */
import type { UDXStream } from 'udx-native'
import { OverlayError, TimeoutError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import { send } from '../messaging/liveness.js'
import { MessageType, RelayOp, type Message, type RelayMessage } from '../messaging/messages.js'
import { formatAddress, parseAddress } from '../messaging/peer-record.js'
import type { Session } from '../session/session.js'
import { Connection, type RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import { relayToken } from './relay-server.js'
import { encodeSignal, SignalType, type RelayInviteSignal } from './signals.js'

type OverlaySession = Session<Message>

export interface RelayClientHost {
  readonly socket: UdpSocket
  readonly handshakeTimeoutMs: number
  sessionWith(peer: NodeId): OverlaySession | undefined
  remoteOf(session: OverlaySession): RemoteAddress
  /** The UDX stream a session runs on (to tell a relayed session from another one with the same peer). */
  streamOf(session: OverlaySession): UDXStream | undefined
  /** Opens (or returns) a session with the relay at `address`. */
  connect(address: RemoteAddress): Promise<OverlaySession>
  /** TLS and the binding on a connection, as for any dial or accept. */
  handshake(connection: Connection): Promise<OverlaySession>
  signal(target: NodeId, payload: Buffer): boolean
}

/** Relayed sessions this node takes part in as an end, at once. */
const MAX_RELAYED_ENDS = 16
const ALLOCATE_TIMEOUT_MS = 5_000
const READY_TIMEOUT_MS = 10_000

interface Pending {
  allocated?: (message: Extract<RelayMessage, { op: RelayOp.Allocated }>) => void
  ready?: () => void
  refused: (reason: string) => void
}

/**
 * Relayed sessions that are up, by relay and token: a REFUSED for the token
 * from that relay ends the session. Keyed by the relay too, so that a token
 * reused through another relay (tokens travel in invitations) cannot take
 * the place of this one.
 */
function relayedKey(relay: NodeId, token: string): string {
  return `${relay}/${token}`
}

export class RelayClient {
  readonly #host: RelayClientHost
  readonly #log: Logger
  readonly #pending = new Map<string, Pending>()
  readonly #relayed = new Map<string, OverlaySession>()
  /** Relayed ends being set up, counted from the first line (an invitation waits for a dial before it has a pending entry). */
  #active = 0

  constructor(host: RelayClientHost, log: Logger) {
    this.#host = host
    this.#log = log
  }

  /** ALLOCATED, READY or REFUSED from a relay, for a token of ours; REFUSED for a session that is up ends it. */
  onMessage(session: OverlaySession, message: RelayMessage): void {
    const pending = this.#pending.get(message.token)
    if (pending === undefined) {
      if (message.op === RelayOp.Refused) this.#ended(session, message.token, message.reason)
      return
    }
    if (message.op === RelayOp.Allocated) pending.allocated?.(message)
    else if (message.op === RelayOp.Ready) pending.ready?.()
    else if (message.op === RelayOp.Refused) pending.refused(`${session.peer.name}: ${message.reason}`)
  }

  /** A session with `target` relayed through `relay` (a session this node has). */
  async relay(target: NodeId, relay: OverlaySession): Promise<OverlaySession> {
    this.#reserve()
    const token = relayToken()
    try {
      const allocated = this.#await<Extract<RelayMessage, { op: RelayOp.Allocated }>>(token, 'allocated', ALLOCATE_TIMEOUT_MS)
      send(relay, { type: MessageType.Relay, op: RelayOp.Prepare, token, target })
      const { initiatorStreamId, targetStreamId } = await allocated
      const relayAddress = this.#host.remoteOf(relay)
      const invite: RelayInviteSignal = { type: SignalType.RelayInvite, token, relay: relay.peerId, relayAddress: formatAddress(relayAddress), streamId: targetStreamId }
      if (!this.#host.signal(target, encodeSignal(invite))) throw new OverlayError('OVL_RELAY_FAILED', 'no peer to send the relay invitation through')
      const session = await this.#join(token, relay, initiatorStreamId, 'outbound')
      if (session.peerId !== target) {
        session.close(new OverlayError('OVL_RELAY_FAILED', 'the relayed session is with another node than the one invited'))
        throw new OverlayError('OVL_RELAY_FAILED', 'the relayed session came up with another node than the one invited')
      }
      return session
    } finally {
      this.#active--
      this.#pending.delete(token)
    }
  }

  /** An invitation to a relayed session, from `origin`, through the overlay. */
  async onInvite(origin: NodeId, invite: RelayInviteSignal): Promise<void> {
    try {
      this.#reserve()
    } catch (err) {
      this.#log.info({ from: origin.slice(0, 10), code: (err as OverlayError).code }, `relay invitation declined: ${(err as Error).message}`)
      return
    }
    try {
      const address = parseAddress(invite.relayAddress)
      let relay = this.#host.sessionWith(invite.relay)
      if (relay === undefined && address !== null) relay = await this.#host.connect(address)
      if (relay === undefined || relay.peerId !== invite.relay) throw new OverlayError('OVL_RELAY_FAILED', 'cannot reach the relay named in the invitation')
      const session = await this.#join(invite.token, relay, invite.streamId, 'inbound')
      if (session.peerId !== origin) session.close(new OverlayError('OVL_RELAY_FAILED', 'the relayed session is with another node than the one that invited'))
    } catch (err) {
      this.#log.info({ from: origin.slice(0, 10), code: (err as OverlayError).code }, `relay invitation failed: ${(err as Error).message}`)
    } finally {
      this.#active--
      this.#pending.delete(invite.token)
    }
  }

  /** The relay `from` stopped relaying the session of `token`: it closes now, not at the heartbeat timeout. */
  #ended(from: OverlaySession, token: string, reason: string): void {
    const key = relayedKey(from.peerId, token) // only the relay that carries a session can end it
    const session = this.#relayed.get(key)
    if (session === undefined) return
    this.#relayed.delete(key)
    this.#log.info({ peer: session.peerId.slice(0, 10), relay: from.peerId.slice(0, 10) }, `relayed session ended by the relay: ${reason}`)
    // No END frame: the path is gone, and the other end hears the same from the relay. A session
    // already closing keeps its own reason (a peer's CLOSE for a direct session that replaces it).
    const error = session.closeReason === null ? new OverlayError('OVL_RELAY_ENDED', `the relay ${from.peer.name} stopped relaying the session: ${reason}`) : undefined
    session.destroy(error, { notify: false })
  }

  /** Connects a stream of ours to the relay's `relayStreamId`, joins, and runs TLS once the relay is ready. */
  async #join(token: string, relay: OverlaySession, relayStreamId: number, direction: 'inbound' | 'outbound'): Promise<OverlaySession> {
    const ready = this.#await<void>(token, 'ready', READY_TIMEOUT_MS)
    ready.catch(() => {}) // awaited below; observed here too in case the stream setup throws first
    const remote = this.#host.remoteOf(relay)
    const stream = this.#host.socket.createStream()
    stream.connect(this.#host.socket.raw, relayStreamId, remote.port, remote.host)
    const connection = new Connection({
      stream,
      socket: this.#host.socket,
      remote,
      direction,
      handshakeTimeoutMs: this.#host.handshakeTimeoutMs,
      path: { kind: 'relayed', via: relay.peerId },
    })
    send(relay, { type: MessageType.Relay, op: RelayOp.Join, token, streamId: stream.id })
    try {
      await ready
    } catch (err) {
      stream.destroy()
      throw err
    }
    const session = await this.#host.handshake(connection)
    // The handshake hands back the session kept for the peer, which is another one if a session
    // with it was up already (the tie-break): only the one on our stream is this relay's to end.
    if (this.#host.streamOf(session) === stream && session.state !== 'closed') {
      const key = relayedKey(relay.peerId, token)
      this.#relayed.set(key, session)
      session.once('close', () => {
        if (this.#relayed.get(key) === session) this.#relayed.delete(key)
      })
    }
    return session
  }

  #await<T>(token: string, what: 'allocated' | 'ready', ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending = this.#pending.get(token) ?? { refused: () => {} }
      const timer = setTimeout(() => reject(new TimeoutError('OVL_RELAY_FAILED', `the relay did not answer (${what}) within ${ms} ms`)), ms).unref()
      pending.refused = (reason) => {
        clearTimeout(timer)
        reject(new OverlayError('OVL_RELAY_REFUSED', `relay refused: ${reason}`))
      }
      pending[what] = ((value: T) => {
        clearTimeout(timer)
        resolve(value)
      }) as never
      this.#pending.set(token, pending)
    })
  }

  #reserve(): void {
    if (this.#active >= MAX_RELAYED_ENDS) throw new OverlayError('OVL_RELAY_FAILED', `${MAX_RELAYED_ENDS} relayed sessions are already being set up`)
    this.#active++
  }
}
