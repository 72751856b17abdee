/**
 * Recently missed heartbeats per peer. The node's own count only grows, so
 * a link that lost one PING an hour ago would look lossy forever; the map
 * colours a link by what it lost within the last window instead.
 */
import { LRUCache } from 'lru-cache'
import type { NodeId } from '../identity/node-id.js'

export class RecentMisses {
  readonly #windowMs: number
  readonly #maxPerPeer: number
  readonly #now: () => number
  readonly #misses: LRUCache<NodeId, number[]>

  constructor(options: { windowMs: number; maxPeers: number; maxPerPeer: number; now?: () => number }) {
    this.#windowMs = options.windowMs
    this.#maxPerPeer = options.maxPerPeer
    this.#now = options.now ?? Date.now
    this.#misses = new LRUCache({ max: options.maxPeers })
  }

  missed(peer: NodeId): void {
    const list = this.#misses.get(peer) ?? []
    list.push(this.#now())
    if (list.length > this.#maxPerPeer) list.shift()
    this.#misses.set(peer, list)
  }

  /** Heartbeats `peer` left unanswered within the window. */
  count(peer: NodeId): number {
    const list = this.#misses.get(peer)
    if (list === undefined) return 0
    const since = this.#now() - this.#windowMs
    while (list.length > 0 && (list[0] as number) < since) list.shift()
    return list.length
  }
}
