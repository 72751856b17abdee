/** What `peers` shows of a session: who, where, how connected, how healthy. */
import type { NodeId } from '../identity/node-id.js'
import type { PeerLiveness } from '../messaging/liveness.js'
import type { Message } from '../messaging/messages.js'
import type { Session } from '../session/session.js'
import type { PathKind } from '../transport/connection.js'
import type { Link } from './links.js'
import type { OverlayNode } from './node.js'

/** A peer's name, from its session or the peer cache; null when neither knows it. */
export function peerName(node: Pick<OverlayNode, 'session' | 'store'>, id: NodeId): string | null {
  return node.session(id)?.peer.name ?? node.store.get(id)?.record.name ?? null
}

/** How a session reaches its peer: direct, punched, upnp (through the peer's port mapping), or relayed. */
export type LinkKind = PathKind

export interface PeerInfo {
  id: NodeId
  name: string
  /** Where its packets come from. */
  address: string
  state: string
  /** Who dialed: outbound (this node) or inbound (the peer). */
  direction: 'inbound' | 'outbound'
  link: LinkKind
  /** The relay's node id, for relayed sessions. */
  via: NodeId | null
  /** Smoothed heartbeat round trip (ms), null until the first PONG. */
  rttMs: number | null
  missedHeartbeats: number
  /** Time since anything was heard from it (ms). */
  silentForMs: number | null
}

export function describePeer(session: Session<Message>, link: Link | undefined, liveness: PeerLiveness | null): PeerInfo {
  const remote = link?.remote ?? session.remote
  return {
    id: session.peerId,
    name: session.peer.name,
    address: `${remote.host}:${remote.port}`,
    state: session.state,
    direction: session.role === 'client' ? 'outbound' : 'inbound',
    link: link?.kind ?? 'direct',
    via: link?.via ?? null,
    rttMs: liveness?.rttMs === null || liveness === null ? null : round(liveness.rttMs),
    missedHeartbeats: liveness?.missed ?? 0,
    silentForMs: liveness === null ? null : Math.round(liveness.silentForMs),
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
