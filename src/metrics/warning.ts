/**
 * What a warning is: a metric over (or under) its threshold at some node,
 * about the node itself or about one of its peers. The same shape serves the
 * warnings raised here and those received from the network.
 */
import type { NodeId } from '../identity/node-id.js'

/** The metrics a threshold can be set on; the wire code of each is in warning-codec.ts. */
export type WarningMetric = 'rtt' | 'heartbeat-loss' | 'few-peers' | 'peer-message-rate' | 'relay-share'

export const WARNING_METRICS: readonly WarningMetric[] = ['rtt', 'heartbeat-loss', 'few-peers', 'peer-message-rate', 'relay-share']

/** A metric over its threshold, as one evaluation saw it. */
export interface Reading {
  metric: WarningMetric
  /** The peer it is about, or null when it is about the node as a whole. */
  subject: NodeId | null
  value: number
  threshold: number
}

export interface Warning extends Reading {
  /** `origin/metric/subject`: the same warning has the same key everywhere. */
  key: string
  /** The node where the threshold was crossed. */
  origin: NodeId
  /** Its name, when this node knows it. */
  originName: string | null
  subjectName: string | null
  /** true: raised by this node; false: received in a METRIC_WARNING broadcast. */
  local: boolean
  /** When it was raised, at the origin (ms since the epoch). */
  since: number
  /** One line for people. */
  text: string
}

export function warningKey(origin: NodeId, metric: WarningMetric, subject: NodeId | null): string {
  return `${origin}/${metric}/${subject ?? ''}`
}

/** "round trip to bob 812 ms (threshold 500 ms)". */
export function describeReading(reading: Reading, subjectName: string | null): string {
  const peer = subjectName ?? reading.subject?.slice(0, 12) ?? 'a peer'
  const { value, threshold } = reading
  switch (reading.metric) {
    case 'rtt':
      return `round trip to ${peer} ${round(value)} ms (threshold ${threshold} ms)`
    case 'heartbeat-loss':
      return `${percent(value)} of heartbeats unanswered (threshold ${percent(threshold)})`
    case 'few-peers':
      return `${value} peer${value === 1 ? '' : 's'} with a session (fewer than ${threshold})`
    case 'peer-message-rate':
      return `${round(value)} messages/s from ${peer} (threshold ${threshold}/s)`
    case 'relay-share':
      return `${percent(value)} of sessions relayed (threshold ${percent(threshold)})`
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10} %`
}
