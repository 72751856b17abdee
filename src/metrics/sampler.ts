/**
 * Measures what the thresholds are checked against, from the node's events
 * and its peer list: heartbeats answered and missed over a sliding window,
 * and each peer's message rate from its session's frame counter (read once
 * per sample: nothing is done per message).
 */
import type { NodeId } from '../identity/node-id.js'
import type { OverlayNode, OverlaySession } from '../node/node.js'
import type { MetricSample, PeerSample } from './thresholds.js'

export type SampledNode = Pick<OverlayNode, 'on' | 'off' | 'peers' | 'sessions'>

interface Bucket {
  at: number
  answered: number
  missed: number
}

interface FrameMark {
  session: OverlaySession
  framesIn: number
  at: number
}

export class MetricSampler {
  readonly #node: SampledNode
  readonly #windowMs: number
  readonly #now: () => number
  readonly #buckets: Bucket[] = []
  readonly #marks = new Map<NodeId, FrameMark>()
  #current: Bucket
  readonly #onRtt = (): void => void this.#current.answered++
  readonly #onMissed = (): void => void this.#current.missed++
  readonly #onUp = (session: OverlaySession): void => this.#mark(session)
  readonly #onDown = (session: OverlaySession): void => {
    if (this.#marks.get(session.peerId)?.session === session) this.#marks.delete(session.peerId)
  }

  constructor(node: SampledNode, options: { lossWindowMs: number; now?: () => number }) {
    this.#node = node
    this.#windowMs = options.lossWindowMs
    this.#now = options.now ?? (() => performance.now())
    this.#current = { at: this.#now(), answered: 0, missed: 0 }
    node.on('heartbeat:rtt', this.#onRtt)
    node.on('heartbeat:missed', this.#onMissed)
    node.on('session:up', this.#onUp)
    node.on('session:down', this.#onDown)
    for (const session of node.sessions()) this.#mark(session)
  }

  /** What happened since the last sample (message rates) and over the loss window (heartbeats). */
  sample(): MetricSample {
    const now = this.#now()
    this.#buckets.push(this.#current)
    this.#current = { at: now, answered: 0, missed: 0 }
    while (this.#buckets.length > 0 && (this.#buckets[0] as Bucket).at < now - this.#windowMs) this.#buckets.shift()
    const heartbeats = { answered: 0, missed: 0 }
    for (const bucket of this.#buckets) {
      heartbeats.answered += bucket.answered
      heartbeats.missed += bucket.missed
    }
    const peers: PeerSample[] = this.#node.peers().map((peer) => ({ id: peer.id, rttMs: peer.rttMs, link: peer.link, messagesPerSecond: this.#rate(peer.id, now) }))
    return { peers, heartbeats }
  }

  #mark(session: OverlaySession): void {
    this.#marks.set(session.peerId, { session, framesIn: session.stats.framesIn, at: this.#now() })
  }

  #rate(peer: NodeId, now: number): number {
    const mark = this.#marks.get(peer)
    if (mark === undefined) return 0
    const framesIn = mark.session.stats.framesIn
    const seconds = (now - mark.at) / 1000
    const rate = seconds > 0 ? (framesIn - mark.framesIn) / seconds : 0
    mark.framesIn = framesIn
    mark.at = now
    return rate
  }

  close(): void {
    this.#node.off('heartbeat:rtt', this.#onRtt)
    this.#node.off('heartbeat:missed', this.#onMissed)
    this.#node.off('session:up', this.#onUp)
    this.#node.off('session:down', this.#onDown)
    this.#marks.clear()
  }
}
