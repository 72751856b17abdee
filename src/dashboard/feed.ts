/**
 * Keeps the page current: listens to the node and the warnings, records
 * recent activity and the chart series, and pushes to every live client the
 * state when it changed (checked every PUSH_MIN_INTERVAL_MS while anyone
 * watches: within a second of any change) and a chart point every second.
 * On the message path it only keeps a reference and sets a flag.
 */
import type { OverlayError } from '../errors.js'
import type { Warning } from '../metrics/warning.js'
import type { ChatEvent, OverlayNode, OverlaySession } from '../node/node.js'
import { HISTORY_SAMPLES, MAX_MISS_PEERS, MAX_MISSES_PER_PEER, PUSH_MIN_INTERVAL_MS, RECENT_DOWN_PEERS, RECENT_MESSAGES, RECENT_MISS_WINDOW_MS, SAMPLE_INTERVAL_MS, SHOWN_TEXT_CHARS } from './defaults.js'
import type { LiveHub } from './live.js'
import { RecentMisses } from './misses.js'
import { RecentActivity, type MessageView } from './recent.js'
import { SeriesRecorder, type SeriesPoint } from './series.js'
import { buildState, type DashboardState, type StateNode } from './state.js'

export type FeedNode = StateNode & Pick<OverlayNode, 'on' | 'off'>

export interface FeedWarnings {
  active(): Warning[]
  nameOf(id: string): string | null
  on(event: 'raised' | 'cleared', listener: (w: Warning) => void): unknown
  off(event: 'raised' | 'cleared', listener: (w: Warning) => void): unknown
}

export interface DashboardFeedInit {
  node: FeedNode
  warnings: FeedWarnings
  hub: LiveHub
  rttWarnMs: number | null
}

export class DashboardFeed {
  readonly recent: RecentActivity
  readonly misses = new RecentMisses({ windowMs: RECENT_MISS_WINDOW_MS, maxPeers: MAX_MISS_PEERS, maxPerPeer: MAX_MISSES_PER_PEER })
  readonly #init: DashboardFeedInit
  readonly #series: SeriesRecorder
  readonly #sampler: NodeJS.Timeout
  #pusher: NodeJS.Timeout | null = null
  #changed = false
  #closed = false
  readonly #dirty = (): void => this.markDirty()
  readonly #onMissed = (peer: string): void => {
    this.misses.missed(peer)
    this.#changed = true
  }
  readonly #onUp = (session: OverlaySession): void => {
    this.recent.peerUp(session.peerId)
    this.#changed = true
  }
  readonly #onDown = (session: OverlaySession, error: OverlayError | null): void => {
    const address = `${session.remote.host}:${session.remote.port}`
    this.recent.peerDown({ id: session.peerId, name: session.peer.name, address, at: Date.now(), reason: error?.code ?? 'closed' })
    this.#changed = true
  }
  readonly #onChat = (chat: ChatEvent): void => {
    this.recent.received(chat, Date.now())
    this.#changed = true
  }

  constructor(init: DashboardFeedInit) {
    this.#init = init
    this.recent = new RecentActivity({ self: { id: init.node.nodeId, name: init.node.name }, messages: RECENT_MESSAGES, downPeers: RECENT_DOWN_PEERS, shownChars: SHOWN_TEXT_CHARS })
    this.#series = new SeriesRecorder(init.node, HISTORY_SAMPLES)
    const { node, warnings, hub } = init
    node.on('session:up', this.#onUp)
    node.on('session:down', this.#onDown)
    node.on('chat', this.#onChat)
    node.on('heartbeat:missed', this.#onMissed)
    node.on('record', this.#dirty)
    warnings.on('raised', this.#dirty)
    warnings.on('cleared', this.#dirty)
    hub.onJoin = (send) => {
      send('state', this.state())
      send('series', this.#series.points())
      this.#startPusher()
    }
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS).unref()
  }

  state(): DashboardState {
    return buildState({ node: this.#init.node, recent: this.recent, misses: this.misses, warnings: () => this.#init.warnings.active(), rttWarnMs: this.#init.rttWarnMs })
  }

  /** A node's name, from its session or the peer cache. */
  nameOf(id: string): string | null {
    return this.#init.warnings.nameOf(id)
  }

  series(): SeriesPoint[] {
    return this.#series.points()
  }

  /** A message the page sent (or failed to send). */
  sent(view: Omit<MessageView, 'at' | 'direction'>): void {
    this.recent.sent({ ...view, at: Date.now(), direction: 'out' })
    this.#changed = true
  }

  /** Something changed: the next push check sends the state. */
  markDirty(): void {
    this.#changed = true
  }

  close(): void {
    this.#closed = true
    clearInterval(this.#sampler)
    this.#stopPusher()
    const { node, warnings, hub } = this.#init
    node.off('session:up', this.#onUp)
    node.off('session:down', this.#onDown)
    node.off('chat', this.#onChat)
    node.off('heartbeat:missed', this.#onMissed)
    node.off('record', this.#dirty)
    warnings.off('raised', this.#dirty)
    warnings.off('cleared', this.#dirty)
    hub.onJoin = null
  }

  /** Runs while anyone watches: pushes the state when something changed since the last push. */
  #startPusher(): void {
    if (this.#closed || this.#pusher !== null) return
    this.#pusher = setInterval(() => {
      if (this.#init.hub.size === 0) return this.#stopPusher()
      if (!this.#changed) return
      this.#changed = false
      this.#init.hub.send('state', this.state())
    }, PUSH_MIN_INTERVAL_MS).unref()
  }

  #stopPusher(): void {
    if (this.#pusher !== null) clearInterval(this.#pusher)
    this.#pusher = null
  }

  #sample(): void {
    const point = this.#series.record()
    this.#init.hub.send('sample', point)
    // Round trips and silences move every second: the table follows.
    this.#changed = true
  }
}
