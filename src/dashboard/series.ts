/**
 * The charts' data: one point a second with each peer's round trip and the
 * node's message rates in and out, the last few minutes kept.
 */
import type { NodeId } from '../identity/node-id.js'
import type { OverlayNode } from '../node/node.js'
import { Ring } from './ring.js'

export interface SeriesPoint {
  /** ms since the epoch. */
  t: number
  /** Smoothed round trip per peer with a session (ms; null before its first PONG). */
  rtt: Record<NodeId, number | null>
  /** Messages (frames) per second received and sent since the last point. */
  inPerS: number
  outPerS: number
}

export type SeriesNode = Pick<OverlayNode, 'stats' | 'peers'>

export class SeriesRecorder {
  readonly #node: SeriesNode
  readonly #points: Ring<SeriesPoint>
  readonly #now: () => number
  #last: { at: number; framesIn: number; framesOut: number } | null = null

  constructor(node: SeriesNode, capacity: number, now: () => number = Date.now) {
    this.#node = node
    this.#points = new Ring(capacity)
    this.#now = now
  }

  record(): SeriesPoint {
    const now = this.#now()
    const { framesIn, framesOut } = this.#node.stats()
    const rtt: Record<NodeId, number | null> = {}
    for (const peer of this.#node.peers()) rtt[peer.id] = peer.rttMs
    const last = this.#last
    const seconds = last === null ? 0 : (now - last.at) / 1000
    const point: SeriesPoint = {
      t: now,
      rtt,
      inPerS: seconds > 0 && last ? round((framesIn - last.framesIn) / seconds) : 0,
      outPerS: seconds > 0 && last ? round((framesOut - last.framesOut) / seconds) : 0,
    }
    this.#last = { at: now, framesIn, framesOut }
    this.#points.push(point)
    return point
  }

  points(): SeriesPoint[] {
    return this.#points.toArray()
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}
