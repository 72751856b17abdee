/**
 * The sessions a node has, at most one per peer. When two sessions to the same
 * peer come up (both dialed at once, a reconnect raced an old session, a
 * punched path came up beside a relayed one), both ends keep the same one
 * without talking about it: a direct session before a relayed one; then the
 * session whose TLS client has the lower node id; between two sessions with
 * the same client, the lower session id (from the TLS exporter, equal on both ends).
 * A session that is closing is not ranked: a new one replaces it. Until the
 * peer hears that CLOSE it may rank the two the other way and close the new
 * one; the pair then has no session, as it would have with the old one ranked,
 * and discovery dials again.
 */
import { OverlayError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Session } from '../session/session.js'

export class SessionRegistry<M> {
  readonly #selfId: NodeId
  readonly #isRelayed: (session: Session<M>) => boolean
  readonly #byPeer = new Map<NodeId, Session<M>>()

  constructor(selfId: NodeId, isRelayed: (session: Session<M>) => boolean = () => false) {
    this.#selfId = selfId
    this.#isRelayed = isRelayed
  }

  get size(): number {
    return this.#byPeer.size
  }

  get(peer: NodeId): Session<M> | undefined {
    return this.#byPeer.get(peer)
  }

  values(): IterableIterator<Session<M>> {
    return this.#byPeer.values()
  }

  /**
   * Adds a session that is up. Returns the session kept for that peer; if it is
   * not `session`, the caller closes `session` (and vice versa for the old one,
   * which is returned as `replaced`).
   */
  add(session: Session<M>): { kept: Session<M>; loser: Session<M> | null } {
    const existing = this.#byPeer.get(session.peerId)
    // A session that is closing (either side has begun to) is not one to keep.
    if (existing === undefined || !existing.writable) {
      this.#byPeer.set(session.peerId, session)
      return { kept: session, loser: null }
    }
    const keepNew = this.#rank(session) < this.#rank(existing)
    if (keepNew) {
      this.#byPeer.set(session.peerId, session)
      return { kept: session, loser: existing }
    }
    return { kept: existing, loser: session }
  }

  /** Forgets the session if it is the one registered for its peer. */
  delete(session: Session<M>): boolean {
    if (this.#byPeer.get(session.peerId) !== session) return false
    this.#byPeer.delete(session.peerId)
    return true
  }

  #rank(session: Session<M>): string {
    const clientId = session.role === 'client' ? this.#selfId : session.peerId
    return `${this.#isRelayed(session) ? 1 : 0}/${clientId}/${session.id}`
  }
}

export function duplicateSessionError(peerName: string): OverlayError {
  return new OverlayError('OVL_DUPLICATE_SESSION', `another session with "${peerName}" is kept`)
}
