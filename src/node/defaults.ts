import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HOP_LIMIT,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_HALF_OPEN,
  DEFAULT_MAX_HALF_OPEN_PER_SOURCE,
  DEFAULT_RELAY_MAX_BYTES,
  DEFAULT_RELAY_MAX_DURATION_MS,
  DEFAULT_RELAY_MAX_PER_NODE,
  DEFAULT_RELAY_MAX_SESSIONS,
} from '../constants.js'

/** Limits on what peers can make this node hold or do. Every one has a test. */
export interface NodeLimits {
  /** Largest frame accepted on a session (bytes). */
  maxFrameBytes: number
  /** Inbound setups not yet authenticated, whole node. */
  maxHalfOpen: number
  /** Inbound setups not yet authenticated, per source IP. */
  maxHalfOpenPerSource: number
  /** From stream allocation to an authenticated session (ms). */
  handshakeTimeoutMs: number
  /** From the first setup datagram to a connected stream (ms). */
  dialTimeoutMs: number
  /** Messages one peer may send per second (a token bucket with twice this as burst); the excess is dropped. */
  messagesPerSecond: number
  /** Direct messages from one origin delivered per second; the excess is refused with an ACK saying so. */
  deliveriesPerSecond: number
}

export const DEFAULT_LIMITS: Readonly<NodeLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxHalfOpen: DEFAULT_MAX_HALF_OPEN,
  maxHalfOpenPerSource: DEFAULT_MAX_HALF_OPEN_PER_SOURCE,
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
  messagesPerSecond: 2_000,
  deliveriesPerSecond: 200,
})

/** Liveness: with the defaults a silent peer is declared down 3 s after it was last heard. */
export interface HeartbeatSettings {
  /** Time between PINGs on a session (ms). */
  intervalMs: number
  /** A peer silent this long is declared down (ms). */
  timeoutMs: number
}

export const DEFAULT_HEARTBEAT: Readonly<HeartbeatSettings> = Object.freeze({ intervalMs: 1_000, timeoutMs: 3_000 })

/** Which peers a node keeps, and its cache of the ones it knows. */
export interface PeerSettings {
  /** Dial more peers while below this many sessions. */
  target: number
  /** Refuse (with referrals) inbound sessions beyond this many. */
  max: number
  /** Ask a random peer for its records this often (ms). */
  exchangeIntervalMs: number
  /** Check whether to dial more peers this often (ms). */
  maintainIntervalMs: number
  /** Cached peers not seen for this long are forgotten (ms). */
  cacheTtlMs: number
  /** Most peers kept in the cache. */
  cacheMax: number
  /** Reconnect backoff: first delay and cap (ms), each with 50-100 % jitter. */
  backoffBaseMs: number
  backoffMaxMs: number
  /** Dial timeout for cached peers, which may be gone (ms). */
  cachedDialTimeoutMs: number
}

export const DEFAULT_PEERS: Readonly<PeerSettings> = Object.freeze({
  target: 6,
  max: 12,
  exchangeIntervalMs: 30_000,
  maintainIntervalMs: 2_000,
  cacheTtlMs: 7 * 24 * 3_600_000,
  cacheMax: 10_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  cachedDialTimeoutMs: 3_000,
})

/** Broadcast and direct messages. */
export interface MessagingSettings {
  /** Hops a broadcast or routed message may take. */
  hopLimit: number
  /** How long `send` waits for an acknowledgement (ms). */
  deliveryTimeoutMs: number
}

export const DEFAULT_MESSAGING: Readonly<MessagingSettings> = Object.freeze({ hopLimit: DEFAULT_HOP_LIMIT, deliveryTimeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS })

/** Relaying sessions for others (only a node others can reach directly is asked to). */
export interface RelaySettings {
  /** Relay for others when this node is reachable (an open NAT type, or a bootstrap node). */
  enabled: boolean
  /** Relayed sessions at once. */
  maxSessions: number
  /** Relayed sessions one node may ask for at once. */
  maxPerNode: number
  /** Longest a relayed session lasts (ms). */
  maxDurationMs: number
  /** Most bytes one relayed session may carry. */
  maxBytes: number
  /** A relayed session that moved nothing for this long is dropped (ms). */
  idleTimeoutMs: number
}

export const DEFAULT_RELAY: Readonly<RelaySettings> = Object.freeze({
  enabled: true,
  maxSessions: DEFAULT_RELAY_MAX_SESSIONS,
  maxPerNode: DEFAULT_RELAY_MAX_PER_NODE,
  maxDurationMs: DEFAULT_RELAY_MAX_DURATION_MS,
  maxBytes: DEFAULT_RELAY_MAX_BYTES,
  idleTimeoutMs: 15_000,
})
