/**
 * The CHAT ids delivered from each peer, so that a CHAT sent again (its ACK
 * was lost with its session) is acknowledged, not delivered twice. Each peer
 * has its own window of the last CHAT_IDS_PER_PEER ids, so one peer's chats
 * cannot push out another's; peers are kept in an LRU (CHAT_PEERS_MAX).
 */
import crypto from 'node:crypto'
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

/** Slots of a new window's ring; it doubles as ids come, up to the capacity. */
const INITIAL_SLOTS = 64

/**
 * The last `capacity` distinct ids added (1 to 2^32-1; 0 is never an id here):
 * a ring of them in the order they came, and an open-addressing hash set over
 * at least twice as many slots, a power of 2 (linear probing, 0 for empty,
 * deletion by backward shift). Typed arrays, not a Set: 12 bytes an id when full, where a Set of
 * numbers above 2^31 that keeps evicting took 60 (measured, Node 20).
 */
export class RecentIds {
  readonly #capacity: number
  #ring: Uint32Array
  #table: Uint32Array
  #count = 0
  /** Where the next id goes once the ring is full (then also the oldest id). */
  #next = 0

  constructor(capacity: number) {
    this.#capacity = capacity
    this.#ring = new Uint32Array(Math.min(INITIAL_SLOTS, capacity))
    this.#table = new Uint32Array(tableSlots(this.#ring.length))
  }

  get size(): number {
    return this.#count
  }

  has(id: number): boolean {
    return id !== 0 && this.#table[this.#slotOf(id)] === id
  }

  add(id: number): void {
    if (id === 0 || this.has(id)) return
    if (this.#count === this.#capacity) {
      this.#delete(this.#ring[this.#next] as number)
      this.#ring[this.#next] = id
      this.#next = (this.#next + 1) % this.#capacity
    } else {
      if (this.#count === this.#ring.length) this.#grow()
      this.#ring[this.#count++] = id
    }
    this.#table[this.#slotOf(id)] = id
  }

  /** The slot that holds `id`, or the empty one where it would go. */
  #slotOf(id: number): number {
    const mask = this.#table.length - 1
    let slot = home(id, mask)
    while (this.#table[slot] !== 0 && this.#table[slot] !== id) slot = (slot + 1) & mask
    return slot
  }

  #delete(id: number): void {
    const table = this.#table
    const mask = table.length - 1
    let hole = this.#slotOf(id)
    table[hole] = 0
    // Move back any later id of the same run that the hole now cuts off from its home slot.
    for (let slot = (hole + 1) & mask; table[slot] !== 0; slot = (slot + 1) & mask) {
      const wanted = home(table[slot] as number, mask)
      const reachable = hole <= slot ? wanted > hole && wanted <= slot : wanted > hole || wanted <= slot
      if (reachable) continue
      table[hole] = table[slot] as number
      table[slot] = 0
      hole = slot
    }
  }

  /** Twice the slots (the ring has not wrapped yet: it fills in order until it is full). */
  #grow(): void {
    const ring = new Uint32Array(Math.min(2 * this.#ring.length, this.#capacity))
    ring.set(this.#ring)
    this.#ring = ring
    this.#table = new Uint32Array(tableSlots(ring.length))
    for (let i = 0; i < this.#count; i++) this.#table[this.#slotOf(ring[i] as number)] = ring[i] as number
  }
}

/** The hash set's slots for `ids` ids: the power of 2 at or above twice that, so it is at most half full. */
function tableSlots(ids: number): number {
  return 1 << (32 - Math.clz32(2 * ids - 1))
}

/** Per process: a peer picks its ids, and must not be able to pick ones that pile up in one run of slots. */
const SEED = crypto.randomBytes(4).readUInt32LE(0)

/**
 * Fibonacci hashing of the id mixed with the seed: the top bits of the product,
 * which depend on every bit of the id (table sizes are powers of 2).
 */
function home(id: number, mask: number): number {
  return Math.imul(id ^ SEED, 0x9e3779b1) >>> Math.clz32(mask)
}
