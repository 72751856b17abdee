/**
 * The CHAT ids delivered from each peer, so that a CHAT sent again (its ACK
 * was lost with its session) is acknowledged, not delivered twice. Each peer
 * has its own window of the last CHAT_IDS_PER_PEER ids, so one peer's chats
 * cannot push out another's; peers are kept in an LRU (CHAT_PEERS_MAX).
 */
import { LRUCache } from 'lru-cache'
import { CHAT_IDS_PER_PEER, CHAT_PEERS_MAX } from '../constants.js'
import type { NodeId } from '../identity/node-id.js'

export class DeliveredChats {
  readonly #peers = new LRUCache<NodeId, RecentIds>({ max: CHAT_PEERS_MAX })

  has(peer: NodeId, id: number): boolean {
    return this.#peers.get(peer)?.has(id) ?? false
  }

  add(peer: NodeId, id: number): void {
    let recent = this.#peers.get(peer)
    if (recent === undefined) this.#peers.set(peer, (recent = new RecentIds(CHAT_IDS_PER_PEER)))
    recent.add(id)
  }
}

/** The last `capacity` ids added: a set to look them up, a ring to forget the oldest. */
class RecentIds {
  readonly #ids = new Set<number>()
  readonly #ring: Uint32Array
  #next = 0

  constructor(capacity: number) {
    this.#ring = new Uint32Array(capacity)
  }

  has(id: number): boolean {
    return this.#ids.has(id)
  }

  add(id: number): void {
    if (this.#ids.has(id)) return
    if (this.#ids.size === this.#ring.length) this.#ids.delete(this.#ring[this.#next] as number)
    this.#ring[this.#next] = id
    this.#next = (this.#next + 1) % this.#ring.length
    this.#ids.add(id)
  }
}
