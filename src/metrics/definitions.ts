/**
 * Every metric a node exports, defined on its own registry (never prom-client's
 * global one, so several nodes in one process do not collide). Names follow
 * Prometheus conventions: base units (seconds, bytes), `_total` on counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** Heartbeat round trips: from loopback (< 1 ms) to a congested path across the world. */
export const RTT_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** How a session reaches its peer (issue 4 adds all but direct). */
export const LINK_KINDS = ['direct', 'punched', 'upnp', 'relayed'] as const
export const PUNCH_OUTCOMES = ['success', 'failure', 'timeout'] as const
export const RELAY_ROLES = ['client', 'server'] as const
export const RELAY_EVENTS = ['opened', 'refused', 'closed'] as const

export type PunchOutcome = (typeof PUNCH_OUTCOMES)[number]
/** client: a session of this node goes through a relay; server: this node relays for others. */
export type RelayRole = (typeof RELAY_ROLES)[number]
export type RelayEvent = (typeof RELAY_EVENTS)[number]

export function defineMetrics(registry: Registry) {
  const registers = [registry]
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers })
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers })
  return {
    info: gauge('overlay_node_info', 'This node: its id and name as labels, value 1.', ['node_id', 'name']),
    sessions: gauge('overlay_sessions', 'Sessions up now, by how they are connected.', ['link']),
    halfOpen: gauge('overlay_half_open_setups', 'Inbound connection setups not yet authenticated.'),
    peerCache: gauge('overlay_peer_cache_entries', 'Peers in the peer cache.'),
    sessionsOpened: counter('overlay_sessions_opened_total', 'Sessions that came up.'),
    sessionsClosed: counter('overlay_sessions_closed_total', 'Sessions that ended, for any reason.'),
    handshakeFailures: counter('overlay_handshake_failures_total', 'Connections that did not become a session (TLS or binding failed).'),
    bytes: counter('overlay_bytes_total', 'Session bytes (framed, before TLS), by direction.', ['direction']),
    frames: counter('overlay_frames_total', 'Session frames (one per message), by direction.', ['direction']),
    messagesIn: counter('overlay_messages_received_total', 'Messages received from peers, by type.', ['type']),
    direct: counter('overlay_direct_messages_total', 'Direct messages: sent, delivered (acknowledged), failed, received, relayed for others, resent on a later session.', ['event']),
    broadcasts: counter('overlay_broadcasts_total', 'Broadcasts: originated here, delivered here, forwarded, duplicates dropped, rejected.', ['event']),
    rtt: new Histogram({ name: 'overlay_heartbeat_rtt_seconds', help: 'Heartbeat round trips to peers.', buckets: RTT_BUCKETS_S, registers }),
    heartbeatsMissed: counter('overlay_heartbeats_missed_total', 'Heartbeat PINGs left unanswered for an interval.'),
    peersDown: counter('overlay_peers_declared_down_total', 'Peers declared down by the heartbeat timeout.'),
    rejected: counter('overlay_rejected_inputs_total', 'Input from peers or the network that was dropped, by reason.', ['reason']),
    punches: counter('overlay_punch_attempts_total', 'Hole punching attempts, by outcome.', ['outcome']),
    relayCircuits: counter('overlay_relay_circuits_total', 'Relayed circuits opened, refused and closed, by role.', ['role', 'event']),
    relayActive: gauge('overlay_relay_circuits_active', 'Relayed circuits open now, by role.', ['role']),
    relayBytes: counter('overlay_relay_bytes_total', 'Bytes carried through relayed circuits, by role.', ['role']),
    warningsActive: gauge('overlay_warnings_active', 'Warnings in force, by metric and where they were raised (local or remote).', ['metric', 'origin']),
    warnings: counter('overlay_warnings_total', 'Warnings raised and cleared, by metric, origin (local or remote) and state.', ['metric', 'origin', 'state']),
  }
}

export type NodeMetricSet = ReturnType<typeof defineMetrics>
