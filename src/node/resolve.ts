/**
 * What an operator types for `<peer>`: a node id, a unique prefix of one, a
 * node name, or host:port. Peers with a session are searched first, then every
 * peer in the cache.
 */
import { DeliveryError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { PeerEntry } from '../discovery/peer-store.js'
import type { Message } from '../messaging/messages.js'
import type { Session } from '../session/session.js'

interface Candidate {
  id: NodeId
  name: string
  addresses: string[]
}

export function resolvePeer(ref: string, sessions: Session<Message>[], known: PeerEntry[]): NodeId {
  const candidates = new Map<NodeId, Candidate>()
  for (const entry of known) {
    candidates.set(entry.record.nodeId, { id: entry.record.nodeId, name: entry.record.name, addresses: entry.record.addresses.map((a) => a.address) })
  }
  for (const s of sessions) {
    const cached = candidates.get(s.peerId)
    candidates.set(s.peerId, { id: s.peerId, name: s.peer.name, addresses: [`${s.remote.host}:${s.remote.port}`, ...(cached?.addresses ?? [])] })
  }
  const all = [...candidates.values()]
  const exact = all.filter((c) => c.id === ref)
  if (exact.length === 1) return ref
  for (const matches of [all.filter((c) => c.name === ref), all.filter((c) => c.addresses.includes(ref)), all.filter((c) => c.id.startsWith(ref))]) {
    // A live session wins over cached namesakes (a node that came back with a new id).
    const live = matches.filter((c) => sessions.some((s) => s.peerId === c.id))
    const pick = live.length === 1 ? live : matches
    if (pick.length === 1) return (pick[0] as Candidate).id
    if (pick.length > 1) {
      throw new DeliveryError('OVL_PEER_AMBIGUOUS', `"${ref}" matches ${pick.length} peers (${pick.map((c) => `${c.name} ${c.id.slice(0, 12)}`).join(', ')}); give more of the node id`)
    }
  }
  throw new DeliveryError('OVL_PEER_UNKNOWN', `no known peer matches "${ref}" (try: peers)`)
}
