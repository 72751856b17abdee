/** What `peers` shows of a session: who, where, how connected, how healthy. */
import type { NodeId } from '../identity/node-id.js'
import type { PeerLiveness } from '../messaging/liveness.js'
import type { Message } from '../messaging/messages.js'
import type { Session } from '../session/session.js'

/** How a session reaches its peer. Issue 4 adds punched, UPnP-mapped and relayed paths. */
export type LinkKind = 'direct'

export interface PeerInfo {
  id: NodeId
  name: string
  /** Where its packets come from. */
  address: string
  state: string
  /** Who dialed: outbound (this node) or inbound (the peer). */
  direction: 'inbound' | 'outbound'
  link: LinkKind
  /** Smoothed heartbeat round trip (ms), null until the first PONG. */
  rttMs: number | null
  missedHeartbeats: number
  /** Time since anything was heard from it (ms). */
  silentForMs: number | null
}

export function describePeer(session: Session<Message>, liveness: PeerLiveness | null): PeerInfo {
  return {
    id: session.peerId,
    name: session.peer.name,
    address: `${session.remote.host}:${session.remote.port}`,
    state: session.state,
    direction: session.role === 'client' ? 'outbound' : 'inbound',
    link: 'direct',
    rttMs: liveness?.rttMs === null || liveness === null ? null : round(liveness.rttMs),
    missedHeartbeats: liveness?.missed ?? 0,
    silentForMs: liveness === null ? null : Math.round(liveness.silentForMs),
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
