/**
 * This node's own signed record: its name, NAT type and the addresses others
 * can try, best first. Candidates come from several sources (local
 * interfaces, what peers observe, STUN, UPnP); whenever the set changes the
 * record is signed again with a higher seq, and `change` fires so the new
 * record can be announced.
 */
import { EventEmitter } from 'node:events'
import os from 'node:os'
import type { Identity } from '../identity/identity.js'
import { AddressKind, MAX_RECORD_ADDRESSES, NatType, signRecord, type PeerRecord, type RecordAddress } from '../messaging/peer-record.js'

/** Peers' observations of our address kept (most recent first). */
const MAX_OBSERVED = 3
/** Distinct peers that must report an address before it is advertised. */
const OBSERVED_MIN_VOTES = 2
/** Addresses under vote at once (oldest forgotten first). */
const MAX_VOTED_ADDRESSES = 16

/** Order in which candidates are listed (and tried by dialers). */
const KIND_ORDER: AddressKind[] = [AddressKind.Mapped, AddressKind.Reflexive, AddressKind.Observed, AddressKind.Local]

export class SelfRecord extends EventEmitter<{ change: [record: PeerRecord] }> {
  readonly #identity: Identity
  readonly #name: string
  readonly #candidates = new Map<AddressKind, string[]>()
  readonly #votes = new Map<string, Set<string>>()
  #nat: NatType = NatType.Unknown
  #flags = 0
  #record: PeerRecord
  #now: () => number

  constructor(init: { identity: Identity; name: string; now?: () => number }) {
    super()
    this.#identity = init.identity
    this.#name = init.name
    this.#now = init.now ?? Date.now
    this.#record = this.#sign(0)
  }

  get record(): PeerRecord {
    return this.#record
  }

  /** Replaces the candidates of one kind; re-signs if anything changed. */
  setCandidates(kind: AddressKind, addresses: string[]): void {
    const before = this.#candidates.get(kind) ?? []
    if (before.length === addresses.length && before.every((a, i) => a === addresses[i])) return
    if (addresses.length === 0) this.#candidates.delete(kind)
    else this.#candidates.set(kind, [...addresses])
    this.#resign()
  }

  /**
   * Peer `reporter` saw our packets come from `address`. Advertised once two
   * peers agree: one peer alone could make us advertise someone else's address.
   */
  observed(address: string, reporter: string): void {
    let voters = this.#votes.get(address)
    if (voters === undefined) {
      voters = new Set()
      this.#votes.set(address, voters)
      if (this.#votes.size > MAX_VOTED_ADDRESSES) this.#votes.delete(this.#votes.keys().next().value as string)
    }
    voters.add(reporter)
    if (voters.size < OBSERVED_MIN_VOTES) return
    const list = this.#candidates.get(AddressKind.Observed) ?? []
    if (list[0] === address) return
    this.setCandidates(AddressKind.Observed, [address, ...list.filter((a) => a !== address)].slice(0, MAX_OBSERVED))
  }

  setNat(nat: NatType, flags = this.#flags): void {
    if (nat === this.#nat && flags === this.#flags) return
    this.#nat = nat
    this.#flags = flags
    this.#resign()
  }

  #resign(): void {
    this.#record = this.#sign(this.#record.seq)
    this.emit('change', this.#record)
  }

  #sign(previousSeq: number): PeerRecord {
    const addresses: RecordAddress[] = []
    const listed = new Set<string>()
    for (const kind of KIND_ORDER) {
      for (const address of this.#candidates.get(kind) ?? []) {
        if (listed.has(address)) continue
        listed.add(address)
        addresses.push({ kind, address })
      }
    }
    return signRecord(this.#identity, {
      name: this.#name,
      nat: this.#nat,
      flags: this.#flags,
      addresses: addresses.slice(0, MAX_RECORD_ADDRESSES),
      seq: Math.max(previousSeq + 1, this.#now()),
    })
  }
}

/**
 * The addresses a socket bound to `host:port` can be reached at: the host
 * itself, or every IPv4 interface address when bound to 0.0.0.0 (loopback
 * only when there is nothing else).
 */
export function localCandidates(host: string, port: number): string[] {
  if (host !== '0.0.0.0') return [`${host}:${port}`]
  const external: string[] = []
  const internal: string[] = []
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const info of addresses ?? []) {
      if (info.family !== 'IPv4') continue
      ;(info.internal ? internal : external).push(`${info.address}:${port}`)
    }
  }
  return external.length > 0 ? external : internal
}
