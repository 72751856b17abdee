/**
 * Settings of the metrics and of the warning thresholds, with their defaults
 * (config/schema.ts builds the `metrics` and `thresholds` config sections
 * from these). A threshold set to null is off.
 */

export interface MetricsSettings {
  /** Serve /metrics (Prometheus text) on the dashboard's HTTP server. */
  enabled: boolean
  /** Ask for the dashboard's access token on /metrics (a scraper sends it as a Bearer token). */
  requireToken: boolean
  /** Also export the process metrics prom-client collects (CPU, memory, event loop lag). */
  process: boolean
}

export const DEFAULT_METRICS: Readonly<MetricsSettings> = Object.freeze({ enabled: true, requireToken: true, process: true })

export interface ThresholdSettings {
  /** How often the thresholds are checked (ms). */
  evaluateIntervalMs: number
  /** Smoothed heartbeat round trip to a peer above this (ms). */
  rttMs: number | null
  /** Share of heartbeat PINGs left unanswered over `lossWindowMs` above this (0 to 1). */
  heartbeatLossRatio: number | null
  /** The window the loss ratio is measured over (ms). */
  lossWindowMs: number
  /** Fewer sessions than this. */
  minPeers: number | null
  /** Messages (frames) per second from one peer above this. */
  peerMessagesPerSecond: number | null
  /** Share of sessions that go through a relay above this (0 to 1). */
  relayShare: number | null
  /** Tell the network: each warning raised or cleared here goes out as a signed METRIC_WARNING broadcast. */
  broadcast: boolean
  /** At most one METRIC_WARNING per warning in this time (ms); a change in between goes out when it ends. */
  broadcastIntervalMs: number
}

export const DEFAULT_THRESHOLDS: Readonly<ThresholdSettings> = Object.freeze({
  evaluateIntervalMs: 1_000,
  rttMs: 500,
  heartbeatLossRatio: 0.2,
  lossWindowMs: 30_000,
  minPeers: null,
  peerMessagesPerSecond: 1_000,
  relayShare: 0.5,
  broadcast: true,
  broadcastIntervalMs: 30_000,
})

/** A loss ratio from fewer heartbeats than this says little (two lost of five, on a busy start, is not 40 % loss). */
export const MIN_HEARTBEATS_FOR_LOSS = 20
/** METRIC_WARNING broadcasts one evaluation may send, whatever happens: bounds what a flapping node floods. */
export const MAX_WARNING_BROADCASTS_PER_EVALUATION = 8
/** Warnings received from other nodes kept at once (the oldest are forgotten first). */
export const MAX_REMOTE_WARNINGS = 256
/** A received warning its origin never cleared is dropped after this (ms): the origin may be gone. */
export const REMOTE_WARNING_TTL_MS = 10 * 60_000
/** Warnings whose last broadcast is remembered for rate limiting. */
export const MAX_LIMITED_WARNINGS = 1_024
