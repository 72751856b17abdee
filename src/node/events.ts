/** The node's typed events and the shapes it reports. */
import type { OverlayError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { BroadcastDelivery, BroadcastStats } from '../messaging/broadcast.js'
import type { ChatDelivery, DirectStats } from '../messaging/direct.js'
import type { Message } from '../messaging/messages.js'
import type { PeerRecord } from '../messaging/peer-record.js'
import type { PunchOutcome } from '../nat/hole-puncher.js'
import type { NetcheckReport } from '../nat/netcheck.js'
import type { RelayEndReason } from '../nat/relay-server.js'
import type { Session } from '../session/session.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { CounterSnapshot } from './counters.js'

export type OverlaySession = Session<Message>

export interface HandshakeFailure {
  remote: RemoteAddress
  direction: 'inbound' | 'outbound'
  error: OverlayError
}

/** A CHAT delivered to this node, direct or broadcast. */
export interface ChatEvent extends ChatDelivery {
  broadcast: boolean
}

export interface OverlayNodeEvents {
  /** A session became the one for its peer (also when it replaced another for the same peer). */
  'session:up': [session: OverlaySession]
  /** The session for a peer ended and no other replaced it. */
  'session:down': [session: OverlaySession, error: OverlayError | null]
  /**
   * A peer went from no session to a session whose HELLO verified: what
   * operators see. A session that only replaced another (a tie-break), or that
   * the peer refused (its limit), is no peer:up.
   */
  'peer:up': [session: OverlaySession]
  /** A peer that was up has no session any more, with the reason (null: an orderly close). */
  'peer:down': [session: OverlaySession, error: OverlayError | null]
  /** A connection that did not become a session, with the reason. */
  'handshake:failed': [failure: HandshakeFailure]
  /** Input that was dropped, with the reason (for metrics and tests). */
  'input:rejected': [reason: string, from: RemoteAddress | NodeId]
  /** Every message from every session, before it is handled. */
  message: [message: Message, session: OverlaySession]
  /** Text for the operator: a direct message or a broadcast. */
  chat: [chat: ChatEvent]
  /** Any broadcast delivered here (chat, metric warnings, ...). */
  broadcast: [delivery: BroadcastDelivery]
  /** A verified peer record, new or newer. */
  record: [record: PeerRecord]
  /** A peer was declared down by its heartbeat. */
  'heartbeat:down': [peer: NodeId, error: OverlayError]
  'heartbeat:missed': [peer: NodeId]
  'heartbeat:rtt': [peer: NodeId, rttMs: number]
  /** A hole punch ended (either side), with how it went. */
  punch: [outcome: PunchOutcome]
  /** This node relayed (or refused to relay) a session for others. */
  relay: [event: RelayEvent]
  /** A netcheck finished: this node's NAT type and reflexive address. */
  netcheck: [report: NetcheckReport]
  /** A UPnP port mapping is advertised (verified by a peer's dial-back), or is gone (null). */
  upnp: [external: RemoteAddress | null]
}

export interface RelayEvent {
  event: 'opened' | 'refused' | 'closed'
  initiator: NodeId
  target: NodeId | null
  reason?: RelayEndReason | string
  bytes?: number
}

export interface NodeStats extends NodeCounts, CounterSnapshot {
  nodeId: NodeId
  name: string
  address: string | null
  uptimeS: number
  knownPeers: number
  pendingDeliveries: number
  routes: number
  direct: DirectStats
  broadcast: BroadcastStats
}

/** What the node holds right now: sessions and what connection setup keeps. */
export interface NodeCounts {
  sessions: number
  halfOpen: number
  pendingDials: number
  streams: number
}

