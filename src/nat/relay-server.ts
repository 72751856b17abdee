/**
 * The relay's side of a relayed session. Two ends that cannot reach each
 * other both hold sessions with this node; it allocates two UDX streams, one
 * facing each end, and lets udx-native forward packets between them
 * (relayTo): ciphertext only, since TLS and the Ed25519 binding run end to
 * end over the pair. Limits: sessions relayed at once (in all and per
 * initiator), time, and bytes; a pair whose ends never both join is dropped.
 *
 *   initiator --PREPARE(token, target)--> relay --ALLOCATED(token, a, b)--> initiator
 *   initiator --SIGNAL RELAY_INVITE(token, relay, b)--> target (through the overlay)
 *   each end  --JOIN(token, its stream id)--> relay;  relay --READY--> both
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { UDXStream } from 'udx-native'
import { RELAY_JOIN_TIMEOUT_MS, RELAY_METER_INTERVAL_MS } from '../constants.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import { send } from '../messaging/liveness.js'
import { MessageType, RelayOp, type Message, type RelayMessage } from '../messaging/messages.js'
import type { Session } from '../session/session.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'

type OverlaySession = Session<Message>

export interface RelayLimits {
  /** Relayed sessions at once. */
  maxSessions: number
  /** Relayed sessions one initiator may have at once. */
  maxPerNode: number
  maxDurationMs: number
  maxBytes: number
  /** A pair that moved no byte for this long is dropped (its ends are gone; a live session has heartbeats every second). */
  idleTimeoutMs: number
}

export interface RelayServerInit {
  socket: UdpSocket
  limits: RelayLimits
  /** Where a session's peer is reached now. */
  remoteOf(session: OverlaySession): RemoteAddress
  /** The node's session with `peer` now, if any (the one the duplicate tie-break kept). */
  current(peer: NodeId): OverlaySession | undefined
  log: Logger
}

export type RelayEndReason = 'closed' | 'time-limit' | 'byte-limit' | 'idle' | 'join-timeout' | 'stopped'

export interface RelayServerEvents {
  opened: [initiator: NodeId, target: NodeId]
  refused: [initiator: NodeId, reason: string]
  closed: [initiator: NodeId, target: NodeId, reason: RelayEndReason, bytes: number]
}

interface Pair {
  token: string
  initiator: NodeId
  target: NodeId
  a: UDXStream
  b: UDXStream
  /** The session each end joined on (or the one that replaced it: #endSessionClosed). */
  sessions: { a: OverlaySession | null; b: OverlaySession | null }
  /** Where each end's stream of the pair sends: that end's address when it joined. */
  remotes: { a: RemoteAddress | null; b: RemoteAddress | null }
  timer: NodeJS.Timeout
  meter: NodeJS.Timeout | null
  bytes: number
  idleTicks: number
  open: boolean
}

type Side = 'a' | 'b'

/** The meter checks bytes and idleness this many times per idle timeout. */
const IDLE_TICKS = 3

export class RelayServer extends EventEmitter<RelayServerEvents> {
  readonly #init: RelayServerInit
  readonly #pairs = new Map<string, Pair>()
  /**
   * The pairs on each session (as an end's side), with one 'close' listener
   * per session however many pairs it carries: a node can be an end of
   * dozens, and a listener each would trip Node's leak warning.
   */
  readonly #onSession = new Map<OverlaySession, Map<Pair, Side>>()

  constructor(init: RelayServerInit) {
    super()
    this.#init = init
  }

  get active(): number {
    return this.#pairs.size
  }

  onMessage(session: OverlaySession, message: RelayMessage): void {
    switch (message.op) {
      case RelayOp.Prepare:
        return this.#prepare(session, message.token, message.target)
      case RelayOp.Join:
        return this.#join(session, message.token, message.streamId)
      default:
        // Allocated, Ready and Refused are for the ends (relay-client.ts).
        return
    }
  }

  stop(): void {
    for (const pair of [...this.#pairs.values()]) this.#end(pair, 'stopped')
  }

  #prepare(session: OverlaySession, token: string, target: NodeId): void {
    const refuse = (reason: string): void => {
      send(session, { type: MessageType.Relay, op: RelayOp.Refused, token, reason })
      this.emit('refused', session.peerId, reason)
    }
    const { limits } = this.#init
    if (this.#pairs.has(token)) return refuse('token in use')
    if (target === session.peerId) return refuse('a node cannot relay to itself')
    if (this.#pairs.size >= limits.maxSessions) return refuse(`at its limit of ${limits.maxSessions} relayed sessions`)
    const mine = [...this.#pairs.values()].filter((p) => p.initiator === session.peerId).length
    if (mine >= limits.maxPerNode) return refuse(`at its limit of ${limits.maxPerNode} relayed sessions per node`)
    const a = this.#init.socket.createStream()
    const b = this.#init.socket.createStream()
    const pair: Pair = {
      token,
      initiator: session.peerId,
      target,
      a,
      b,
      sessions: { a: null, b: null },
      remotes: { a: null, b: null },
      timer: setTimeout(() => this.#end(pair, 'join-timeout'), RELAY_JOIN_TIMEOUT_MS).unref(),
      meter: null,
      bytes: 0,
      idleTicks: 0,
      open: false,
    }
    for (const stream of [a, b]) {
      stream.on('error', () => {})
      stream.once('close', () => this.#end(pair, 'closed'))
    }
    this.#pairs.set(token, pair)
    send(session, { type: MessageType.Relay, op: RelayOp.Allocated, token, initiatorStreamId: a.id, targetStreamId: b.id })
  }

  #join(session: OverlaySession, token: string, streamId: number): void {
    const pair = this.#pairs.get(token)
    if (pair === undefined) return void send(session, { type: MessageType.Relay, op: RelayOp.Refused, token, reason: 'unknown or expired token' })
    const side = session.peerId === pair.initiator ? 'a' : session.peerId === pair.target ? 'b' : null
    if (side === null || pair.sessions[side] !== null) return void send(session, { type: MessageType.Relay, op: RelayOp.Refused, token, reason: 'not an end of this relay' })
    const remote = this.#init.remoteOf(session)
    pair[side].connect(this.#init.socket.raw, streamId, remote.port, remote.host)
    pair.remotes[side] = { ...remote }
    this.#bind(pair, side, session)
    const { a, b } = pair.sessions
    if (a === null || b === null) return
    pair.a.relayTo(pair.b)
    pair.b.relayTo(pair.a)
    pair.open = true
    clearTimeout(pair.timer)
    pair.timer = setTimeout(() => this.#end(pair, 'time-limit'), this.#init.limits.maxDurationMs).unref()
    pair.meter = setInterval(() => this.#meter(pair), Math.min(RELAY_METER_INTERVAL_MS, this.#init.limits.idleTimeoutMs / IDLE_TICKS)).unref()
    for (const end of [a, b]) send(end, { type: MessageType.Relay, op: RelayOp.Ready, token })
    this.#init.log.info({ initiator: pair.initiator.slice(0, 10), target: pair.target.slice(0, 10) }, 'relaying a session')
    this.emit('opened', pair.initiator, pair.target)
  }

  #bind(pair: Pair, side: Side, session: OverlaySession): void {
    pair.sessions[side] = session
    const pairs = this.#onSession.get(session) ?? new Map<Pair, Side>()
    if (!this.#onSession.has(session)) {
      this.#onSession.set(session, pairs)
      session.once('close', () => {
        this.#onSession.delete(session)
        for (const [onIt, onSide] of pairs) this.#endSessionClosed(onIt, onSide, session)
      })
    }
    pairs.set(pair, side)
  }

  /**
   * The session an end joined on closed. If the node has another session with
   * that end, from the address the pair's stream sends to, the pair moves to
   * that one: the duplicate tie-break replaced the one it was joined on (maybe
   * the loser, still read for a while), or the end dialed again. Otherwise the
   * end is gone, and so is the pair. (An end that restarts on the same port
   * before the old session is declared dead looks the same: its half of the
   * pair is gone, so the other end learns it from its heartbeats, and the pair
   * ends at the idle timeout.)
   */
  #endSessionClosed(pair: Pair, side: Side, closed: OverlaySession): void {
    const current = this.#init.current(closed.peerId)
    const faces = pair.remotes[side]
    if (current !== undefined && current !== closed && current.writable && faces !== null && sameAddress(this.#init.remoteOf(current), faces)) {
      this.#bind(pair, side, current)
      return
    }
    this.#end(pair, 'closed')
  }

  #meter(pair: Pair): void {
    const bytes = pair.a.bytesReceived + pair.b.bytesReceived
    pair.idleTicks = bytes === pair.bytes ? pair.idleTicks + 1 : 0
    pair.bytes = bytes
    if (bytes > this.#init.limits.maxBytes) this.#end(pair, 'byte-limit')
    else if (pair.idleTicks >= IDLE_TICKS) this.#end(pair, 'idle')
  }

  #end(pair: Pair, reason: RelayEndReason): void {
    if (this.#pairs.get(pair.token) !== pair) return
    this.#pairs.delete(pair.token)
    clearTimeout(pair.timer)
    if (pair.meter) clearInterval(pair.meter)
    pair.a.destroy()
    pair.b.destroy()
    // The sessions outlive the pair: a loop of PREPARE and JOIN must not pile up entries on them.
    for (const session of [pair.sessions.a, pair.sessions.b]) if (session !== null) this.#onSession.get(session)?.delete(pair)
    // Each end hears it at once, on its session with the relay: destroying the forwarding streams tells
    // the ends nothing they act on (measured: they learned it from the heartbeat timeout). REFUSED, so
    // that ends that predate this ignore it (a token they no longer wait for).
    for (const session of [pair.sessions.a, pair.sessions.b]) {
      if (session === null) continue
      // One that is closing (a replaced session in its last seconds) cannot carry it: the end's current one can.
      const to = session.writable ? session : this.#init.current(session.peerId)
      if (to !== undefined) send(to, { type: MessageType.Relay, op: RelayOp.Refused, token: pair.token, reason: `relay ended (${reason})` })
    }
    if (pair.open) {
      this.#init.log.info({ initiator: pair.initiator.slice(0, 10), target: pair.target.slice(0, 10), reason, bytes: pair.bytes }, 'relayed session ended')
      this.emit('closed', pair.initiator, pair.target, reason, pair.bytes)
    }
  }
}

function sameAddress(x: RemoteAddress, y: RemoteAddress): boolean {
  return x.host === y.host && x.port === y.port
}

export function relayToken(): string {
  return crypto.randomBytes(16).toString('hex')
}
