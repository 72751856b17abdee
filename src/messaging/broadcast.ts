/**
 * Network-wide broadcast by flooding: every node forwards a broadcast it has
 * not seen to every peer but the one it came from, until its hop limit runs
 * out. Each broadcast is signed by its origin and verified before it is
 * delivered or forwarded, so a relay can neither forge nor alter one.
 *
 * Exactly once: a bounded lru-cache of (origin, seq) drops duplicates that
 * arrive over other paths; a per-origin anti-replay window (replay-window.ts)
 * and an age bound on `seq` (a time in microseconds) refuse replays the cache
 * has forgotten.
 */
import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import { BROADCAST_MAX_AGE_MS, BROADCAST_ORIGINS_MAX, BROADCAST_SEEN_MAX, DEFAULT_HOP_LIMIT } from '../constants.js'
import type { Identity } from '../identity/identity.js'
import type { NodeId } from '../identity/node-id.js'
import type { Session } from '../session/session.js'
import { send } from './liveness.js'
import { MessageType, type BroadcastKind, type BroadcastMessage, type Message } from './messages.js'
import { ReplayWindow } from './replay-window.js'
import { signBroadcast, verifyBroadcast } from './signed.js'

type OverlaySession = Session<Message>

export interface BroadcastDelivery {
  origin: NodeId
  seq: number
  kind: BroadcastKind
  payload: Buffer
  /** Hops it took to get here (1: from a neighbour). */
  hops: number
  /** The peer it arrived from first. */
  via: NodeId
}

export type BroadcastDropReason = 'broadcast-duplicate' | 'broadcast-forged' | 'broadcast-replayed' | 'broadcast-stale' | 'broadcast-own'

export interface BroadcastEvents {
  delivered: [delivery: BroadcastDelivery]
  dropped: [reason: BroadcastDropReason, from: NodeId]
}

export interface BroadcasterInit {
  identity: Identity
  /** The sessions to forward to. */
  sessions: () => Iterable<OverlaySession>
  hopLimit?: number
  /** Broadcast ids remembered for de-duplication (default BROADCAST_SEEN_MAX). */
  seenMax?: number
  /** Wall clock in ms (tests move it). */
  now?: () => number
}

export interface BroadcastStats {
  originated: number
  delivered: number
  forwarded: number
  duplicates: number
  rejected: number
}

export class Broadcaster extends EventEmitter<BroadcastEvents> {
  readonly #init: BroadcasterInit
  readonly #now: () => number
  readonly #hopLimit: number
  readonly #seen: LRUCache<string, true>
  readonly #windows = new LRUCache<NodeId, ReplayWindow>({ max: BROADCAST_ORIGINS_MAX })
  #lastSeq = 0
  readonly stats: BroadcastStats = { originated: 0, delivered: 0, forwarded: 0, duplicates: 0, rejected: 0 }

  constructor(init: BroadcasterInit) {
    super()
    this.#init = init
    this.#now = init.now ?? Date.now
    this.#hopLimit = init.hopLimit ?? DEFAULT_HOP_LIMIT
    this.#seen = new LRUCache({ max: init.seenMax ?? BROADCAST_SEEN_MAX })
  }

  /** Signs and sends a broadcast to every peer; returns its id and how many peers it went to. */
  broadcast(kind: BroadcastKind, payload: Buffer): { origin: NodeId; seq: number; sentTo: number } {
    // Microseconds of wall time keep seq increasing across restarts; +1 within one.
    const seq = Math.max(this.#lastSeq + 1, this.#now() * 1000)
    this.#lastSeq = seq
    const signed = signBroadcast(this.#init.identity, { seq, kind, payload })
    this.#seen.set(key(signed.origin, seq), true)
    this.#window(signed.origin).accept(seq)
    this.stats.originated++
    const sentTo = this.#forward({ type: MessageType.Broadcast, ...signed, hopLimit: this.#hopLimit }, null)
    return { origin: signed.origin, seq, sentTo }
  }

  /** A BROADCAST from a peer: check, deliver, forward. */
  onMessage(from: OverlaySession, message: BroadcastMessage): void {
    const id = key(message.origin, message.seq)
    if (this.#seen.has(id)) return this.#drop('broadcast-duplicate', from)
    if (message.origin === this.#init.identity.nodeId) return this.#drop('broadcast-own', from)
    const ageMs = this.#now() - message.seq / 1000
    if (ageMs > BROADCAST_MAX_AGE_MS || ageMs < -BROADCAST_MAX_AGE_MS) return this.#drop('broadcast-stale', from)
    // Verified before it is remembered: a forgery must not block the real message.
    if (!verifyBroadcast(message)) return this.#drop('broadcast-forged', from)
    if (!this.#window(message.origin).accept(message.seq)) return this.#drop('broadcast-replayed', from)
    this.#seen.set(id, true)
    this.stats.delivered++
    this.emit('delivered', {
      origin: message.origin,
      seq: message.seq,
      kind: message.kind,
      payload: message.payload,
      hops: this.#hopLimit - message.hopLimit + 1,
      via: from.peerId,
    })
    if (message.hopLimit > 1) this.#forward({ ...message, hopLimit: message.hopLimit - 1 }, from)
  }

  #forward(message: BroadcastMessage, from: OverlaySession | null): number {
    let sent = 0
    for (const session of this.#init.sessions()) {
      // By peer, not by session: a session the tie-break replaced is still read for a while.
      if (session.peerId === from?.peerId || session.peerId === message.origin) continue
      if (send(session, message)) sent++
    }
    if (from !== null) this.stats.forwarded += sent
    return sent
  }

  #window(origin: NodeId): ReplayWindow {
    let window = this.#windows.get(origin)
    if (window === undefined) {
      window = new ReplayWindow(BROADCAST_MAX_AGE_MS * 1000)
      this.#windows.set(origin, window)
    }
    return window
  }

  #drop(reason: BroadcastDropReason, from: OverlaySession): void {
    if (reason === 'broadcast-duplicate' || reason === 'broadcast-own') this.stats.duplicates++
    else this.stats.rejected++
    this.emit('dropped', reason, from.peerId)
  }
}

function key(origin: NodeId, seq: number): string {
  return `${origin}/${seq}`
}
