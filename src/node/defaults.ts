import {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_HALF_OPEN,
  DEFAULT_MAX_HALF_OPEN_PER_SOURCE,
} from '../constants.js'

/** Limits on what peers can make this node hold. Every one has a test. */
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
}

export const DEFAULT_LIMITS: Readonly<NodeLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxHalfOpen: DEFAULT_MAX_HALF_OPEN,
  maxHalfOpenPerSource: DEFAULT_MAX_HALF_OPEN_PER_SOURCE,
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
})
