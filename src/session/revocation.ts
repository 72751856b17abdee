import { EventEmitter } from 'node:events'
import { publicKeyFromNodeId, type NodeId } from '../identity/node-id.js'

/**
 * Revoked node ids (Ed25519 public keys, not certificate hashes: a re-signed
 * certificate has another hash but the same key). Replaceable at run time;
 * listeners disconnect sessions with newly revoked peers.
 */
export class RevocationList extends EventEmitter<{ change: [revoked: ReadonlySet<NodeId>] }> {
  #revoked: ReadonlySet<NodeId>

  constructor(ids: Iterable<NodeId> = []) {
    super()
    this.#revoked = RevocationList.#validate(ids)
  }

  has(id: NodeId): boolean {
    return this.#revoked.has(id)
  }

  get size(): number {
    return this.#revoked.size
  }

  replace(ids: Iterable<NodeId>): void {
    this.#revoked = RevocationList.#validate(ids)
    this.emit('change', this.#revoked)
  }

  static #validate(ids: Iterable<NodeId>): ReadonlySet<NodeId> {
    const set = new Set<NodeId>()
    for (const id of ids) {
      publicKeyFromNodeId(id) // throws a ConfigError naming the bad id
      set.add(id)
    }
    return set
  }
}
