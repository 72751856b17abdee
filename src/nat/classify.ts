/**
 * NAT behaviour from what STUN servers saw (RFC 4787 terms), as a pure
 * function: the same socket asked several servers at distinct addresses.
 *
 * - every answer equals one of our local addresses: open (no NAT);
 * - no answer at all: UDP blocked (or every server down);
 * - answers differ: the mapping varies by destination: hard (symmetric);
 * - one mapping seen by servers at two or more IPs: endpoint-independent
 *   mapping: easy;
 * - one mapping seen from one server IP only: cannot tell easy from hard.
 */
import type { RemoteAddress } from '../transport/connection.js'

export type NatBehaviour = 'open' | 'easy' | 'hard' | 'blocked' | 'unknown'

export interface StunObservation {
  server: RemoteAddress
  /** What the server saw; null when it did not answer. */
  mapped: RemoteAddress | null
}

export interface NatClassification {
  behaviour: NatBehaviour
  /** Our address as the internet sees it: the mapping most servers saw (the first seen on a tie); null when none answered. */
  reflexive: RemoteAddress | null
  /** Whether the mapping varies with the destination: true for hard, false for open and easy, null when it cannot be told. */
  mappingVaries: boolean | null
  /** For the operator. */
  reason: string
}

const key = (a: RemoteAddress): string => `${a.host}:${a.port}`

export function classifyNat(input: { local: readonly RemoteAddress[]; observations: readonly StunObservation[] }): NatClassification {
  const answered = input.observations.filter((o): o is StunObservation & { mapped: RemoteAddress } => o.mapped !== null)
  if (input.observations.length === 0) return { behaviour: 'unknown', reflexive: null, mappingVaries: null, reason: 'no STUN server was asked' }
  if (answered.length === 0) {
    return { behaviour: 'blocked', reflexive: null, mappingVaries: null, reason: `none of ${input.observations.length} STUN servers answered: UDP is blocked (or the servers are down)` }
  }
  const local = new Set(input.local.map(key))
  const beyond = answered.filter((o) => !local.has(key(o.mapped)))
  if (beyond.length === 0) {
    return { behaviour: 'open', reflexive: answered[0]!.mapped, mappingVaries: false, reason: 'the servers saw our local address: no NAT' }
  }
  const counts = new Map<string, { mapped: RemoteAddress; n: number }>()
  for (const { mapped } of beyond) {
    const entry = counts.get(key(mapped))
    if (entry) entry.n++
    else counts.set(key(mapped), { mapped, n: 1 })
  }
  const reflexive = [...counts.values()].reduce((best, next) => (next.n > best.n ? next : best)).mapped
  if (counts.size > 1) {
    return { behaviour: 'hard', reflexive, mappingVaries: true, reason: `the mapping varies by destination: ${[...counts.keys()].join(', ')}` }
  }
  const serverIps = new Set(beyond.map((o) => o.server.host))
  if (serverIps.size >= 2) {
    return { behaviour: 'easy', reflexive, mappingVaries: false, reason: `${serverIps.size} servers at distinct addresses saw the same mapping ${key(reflexive)}` }
  }
  const why = beyond.length === 1 ? 'only one STUN server answered' : 'the servers that answered share one IP address'
  return { behaviour: 'unknown', reflexive, mappingVaries: null, reason: `${why}: cannot tell an easy NAT from a hard one (ask two servers at distinct addresses)` }
}
