/**
 * What the page shows, as one JSON document: this node, its peers (with
 * sessions, recently down, known from the cache), warnings, recent messages.
 * Built on demand from the node's public API; the map, the table and the
 * panels are all drawn from it.
 */
import type { PeerEntry } from '../discovery/peer-store.js'
import type { NodeId } from '../identity/node-id.js'
import { AddressKind, NatType, type RecordAddress } from '../messaging/peer-record.js'
import type { Warning } from '../metrics/warning.js'
import type { OverlayNode } from '../node/node.js'
import type { PeerInfo } from '../node/peer-info.js'
import { MAX_MAP_KNOWN_PEERS } from './defaults.js'
import type { RecentMisses } from './misses.js'
import type { DownPeer, MessageView, RecentActivity } from './recent.js'

export type StateNode = Pick<OverlayNode, 'nodeId' | 'name' | 'running' | 'address' | 'self' | 'peers' | 'knownPeers' | 'stats' | 'heartbeat'>

export interface AddressView {
  kind: string
  address: string
}

/** A peer with a session. */
export interface PeerView extends PeerInfo {
  /** Heartbeats it left unanswered lately (RECENT_MISS_WINDOW_MS); missedHeartbeats counts them all. */
  recentMisses: number
}

export interface KnownView {
  id: NodeId
  name: string
  nat: string
  addresses: AddressView[]
  lastSeen: number
  lastConnected: number | null
  leftAt: number | null
}

export interface DashboardState {
  self: {
    id: NodeId
    name: string
    address: string | null
    nat: string
    addresses: AddressView[]
    uptimeS: number
    heartbeat: { intervalMs: number; timeoutMs: number }
  }
  peers: PeerView[]
  down: DownPeer[]
  known: KnownView[]
  /** Peers in the cache, including those not drawn. */
  knownTotal: number
  warnings: Warning[]
  messages: MessageView[]
  /** For colouring links: a round trip above this is slow. */
  rttWarnMs: number | null
  stats: { sessions: number; bytesIn: number; bytesOut: number; framesIn: number; framesOut: number; rejected: number }
}

export interface StateSources {
  node: StateNode
  recent: RecentActivity
  misses: RecentMisses
  warnings: () => Warning[]
  rttWarnMs: number | null
}

export function buildState({ node, recent, misses, warnings, rttWarnMs }: StateSources): DashboardState {
  const stats = node.stats()
  const peers = node.peers().map((peer) => peerView(peer, misses.count(peer.id)))
  const connected = new Set(peers.map((p) => p.id))
  const down = recent.downPeers().filter((d) => !connected.has(d.id))
  const hidden = new Set([...connected, ...down.map((d) => d.id), node.nodeId])
  const entries = node.knownPeers()
  const cached = entries.filter((e) => !hidden.has(e.record.nodeId))
  cached.sort((a, b) => b.lastSeen - a.lastSeen)
  const names = new Map<NodeId, string>([...entries.map((e) => [e.record.nodeId, e.record.name] as const), ...peers.map((p) => [p.id, p.name] as const), [node.nodeId, node.name]])
  const record = node.self.record
  return {
    self: {
      id: node.nodeId,
      name: node.name,
      address: node.running ? `${node.address.host}:${node.address.port}` : null,
      nat: natName(record.nat),
      addresses: record.addresses.map(addressView),
      uptimeS: stats.uptimeS,
      heartbeat: { intervalMs: node.heartbeat.intervalMs, timeoutMs: node.heartbeat.timeoutMs },
    },
    peers,
    down,
    known: cached.slice(0, MAX_MAP_KNOWN_PEERS).map(knownView),
    knownTotal: stats.knownPeers,
    warnings: warnings(),
    messages: recent.messages().map((m) => ({ ...m, fromName: m.fromName ?? names.get(m.from) ?? null, toName: m.toName ?? (m.to === null ? null : (names.get(m.to) ?? null)) })),
    rttWarnMs,
    stats: {
      sessions: stats.sessions,
      bytesIn: stats.bytesIn,
      bytesOut: stats.bytesOut,
      framesIn: stats.framesIn,
      framesOut: stats.framesOut,
      rejected: Object.values(stats.rejected).reduce((a, b) => a + b, 0),
    },
  }
}

function peerView(peer: PeerInfo, recentMisses: number): PeerView {
  return { ...peer, recentMisses }
}

function knownView(entry: PeerEntry): KnownView {
  return {
    id: entry.record.nodeId,
    name: entry.record.name,
    nat: natName(entry.record.nat),
    addresses: entry.record.addresses.map(addressView),
    lastSeen: entry.lastSeen,
    lastConnected: entry.lastConnected,
    leftAt: entry.leftAt,
  }
}

function addressView(address: RecordAddress): AddressView {
  return { kind: (AddressKind[address.kind] ?? String(address.kind)).toLowerCase(), address: address.address }
}

function natName(nat: NatType): string {
  return (NatType[nat] ?? String(nat)).toLowerCase()
}
