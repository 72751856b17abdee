/**
 * The thresholds themselves: which metrics of one sample are over (or, for
 * the peer count, under) what the operator set. Pure: a sample in, readings
 * out; the sampler measures, the warning service keeps state and time.
 */
import type { NodeId } from '../identity/node-id.js'
import { MIN_HEARTBEATS_FOR_LOSS, type ThresholdSettings } from './defaults.js'
import type { Reading } from './warning.js'

export interface PeerSample {
  id: NodeId
  /** Smoothed heartbeat round trip (ms), null before the first PONG. */
  rttMs: number | null
  /** Messages (frames) per second received from it since the last sample. */
  messagesPerSecond: number
  /** How its session is connected: direct, punched, upnp or relayed. */
  link: string
}

export interface MetricSample {
  /** Every peer with a session. */
  peers: PeerSample[]
  /** Heartbeats over the loss window: PINGs answered and PINGs missed. */
  heartbeats: { answered: number; missed: number }
}

export function readingsOver(sample: MetricSample, settings: ThresholdSettings): Reading[] {
  const readings: Reading[] = []
  const { rttMs, peerMessagesPerSecond, heartbeatLossRatio, minPeers, relayShare } = settings
  for (const peer of sample.peers) {
    if (rttMs !== null && peer.rttMs !== null && peer.rttMs > rttMs) readings.push({ metric: 'rtt', subject: peer.id, value: peer.rttMs, threshold: rttMs })
    if (peerMessagesPerSecond !== null && peer.messagesPerSecond > peerMessagesPerSecond) {
      readings.push({ metric: 'peer-message-rate', subject: peer.id, value: peer.messagesPerSecond, threshold: peerMessagesPerSecond })
    }
  }
  const { answered, missed } = sample.heartbeats
  if (heartbeatLossRatio !== null && answered + missed >= MIN_HEARTBEATS_FOR_LOSS) {
    const loss = missed / (answered + missed)
    if (loss > heartbeatLossRatio) readings.push({ metric: 'heartbeat-loss', subject: null, value: loss, threshold: heartbeatLossRatio })
  }
  if (minPeers !== null && sample.peers.length < minPeers) readings.push({ metric: 'few-peers', subject: null, value: sample.peers.length, threshold: minPeers })
  if (relayShare !== null && sample.peers.length > 0) {
    const share = sample.peers.filter((p) => p.link === 'relayed').length / sample.peers.length
    if (share > relayShare) readings.push({ metric: 'relay-share', subject: null, value: share, threshold: relayShare })
  }
  return readings
}
