/**
 * A node's Prometheus metrics. Most figures are the node's own running
 * totals (`stats()`), read when /metrics is scraped: nothing is done per
 * message. Heartbeat round trips feed a histogram as they arrive, warnings
 * count as they are raised and cleared, and issue 4's hole punching and
 * relays report through punch() and relay().
 *
 *   const metrics = new NodeMetrics({ node })
 *   res.setHeader('content-type', metrics.contentType)
 *   res.end(await metrics.text())
 */
import { collectDefaultMetrics, Registry, type Counter } from 'prom-client'
import type { PunchOutcome as NodePunchOutcome } from '../nat/hole-puncher.js'
import type { OverlayNode, OverlaySession, RelayEvent as NodeRelayEvent } from '../node/node.js'
import { defineMetrics, LINK_KINDS, PUNCH_OUTCOMES, RELAY_EVENTS, RELAY_ROLES, type NodeMetricSet, type PunchOutcome, type RelayEvent, type RelayRole } from './definitions.js'
import { WARNING_METRICS, type Warning } from './warning.js'
import type { WarningService } from './warnings.js'

export type MeteredNode = Pick<OverlayNode, 'on' | 'off' | 'stats' | 'peers' | 'nodeId' | 'name'>
export type WarningSource = Pick<WarningService, 'on' | 'off' | 'active'>

export interface NodeMetricsInit {
  node: MeteredNode
  warnings?: WarningSource
  /** Also collect prom-client's process metrics (CPU, memory, event loop lag) on this registry. */
  process?: boolean
}

export class NodeMetrics {
  readonly registry = new Registry()
  readonly #node: MeteredNode
  readonly #warnings: WarningSource | null
  readonly #m: NodeMetricSet
  readonly #onRtt = (_peer: string, rttMs: number): void => this.#m.rtt.observe(rttMs / 1000)
  readonly #onRaised = (w: Warning): void => this.#countWarning(w, 'raised')
  readonly #onCleared = (w: Warning): void => this.#countWarning(w, 'cleared')
  /** Sessions of this node that go through a relay. */
  #relayedEnds = new WeakSet<OverlaySession>()
  readonly #onPunch = (o: NodePunchOutcome): void => this.punch(o.ok ? 'success' : o.error === 'OVL_PUNCH_FAILED' ? 'timeout' : 'failure')
  readonly #onRelay = (e: NodeRelayEvent): void => {
    this.relay('server', e.event)
    if (e.event === 'closed' && e.bytes) this.relayBytes('server', e.bytes)
  }
  readonly #onPeerUp = (session: OverlaySession): void => {
    if (this.#node.peers().find((p) => p.id === session.peerId)?.link !== 'relayed') return
    this.#relayedEnds.add(session)
    this.relay('client', 'opened')
    // Its own close, not session:down: a relayed session a direct one replaces has no session:down.
    session.once('close', () => this.#relayedEnds.delete(session) && this.relay('client', 'closed'))
  }

  constructor(init: NodeMetricsInit) {
    this.#node = init.node
    this.#warnings = init.warnings ?? null
    this.#m = defineMetrics(this.registry)
    if (init.process) collectDefaultMetrics({ register: this.registry })
    // Every label value known in advance is exported from the start, at zero.
    for (const outcome of PUNCH_OUTCOMES) this.#m.punches.inc({ outcome }, 0)
    for (const role of RELAY_ROLES) {
      this.#m.relayActive.set({ role }, 0)
      this.#m.relayBytes.inc({ role }, 0)
      for (const event of RELAY_EVENTS) this.#m.relayCircuits.inc({ role, event }, 0)
    }
    init.node.on('heartbeat:rtt', this.#onRtt)
    init.node.on('punch', this.#onPunch)
    init.node.on('relay', this.#onRelay)
    init.node.on('session:up', this.#onPeerUp)
    this.#warnings?.on('raised', this.#onRaised)
    this.#warnings?.on('cleared', this.#onCleared)
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** A hole punching attempt ended. */
  punch(outcome: PunchOutcome): void {
    this.#m.punches.inc({ outcome })
  }

  /** A relayed circuit was opened, refused or closed, as its client or as the relay. */
  relay(role: RelayRole, event: RelayEvent): void {
    this.#m.relayCircuits.inc({ role, event })
    if (event === 'opened') this.#m.relayActive.inc({ role })
    if (event === 'closed') this.#m.relayActive.dec({ role })
  }

  /** Bytes carried through a relayed circuit. */
  relayBytes(role: RelayRole, bytes: number): void {
    this.#m.relayBytes.inc({ role }, bytes)
  }

  /** Reads the node's figures into the metrics and renders them in Prometheus text format. */
  async text(): Promise<string> {
    this.#refresh()
    return this.registry.metrics()
  }

  close(): void {
    this.#node.off('heartbeat:rtt', this.#onRtt)
    this.#node.off('punch', this.#onPunch)
    this.#node.off('relay', this.#onRelay)
    this.#node.off('session:up', this.#onPeerUp)
    this.#relayedEnds = new WeakSet() // a relayed session closing later counts nothing
    this.#warnings?.off('raised', this.#onRaised)
    this.#warnings?.off('cleared', this.#onCleared)
  }

  #refresh(): void {
    const m = this.#m
    const stats = this.#node.stats()
    m.info.reset()
    m.info.set({ node_id: this.#node.nodeId, name: this.#node.name }, 1)
    const links = new Map<string, number>(LINK_KINDS.map((kind) => [kind, 0]))
    for (const peer of this.#node.peers()) links.set(peer.link, (links.get(peer.link) ?? 0) + 1)
    for (const [link, count] of links) m.sessions.set({ link }, count)
    m.halfOpen.set(stats.halfOpen)
    m.peerCache.set(stats.knownPeers)
    total(m.sessionsOpened, [[{}, stats.sessionsOpened]])
    total(m.sessionsClosed, [[{}, stats.sessionsClosed]])
    total(m.handshakeFailures, [[{}, stats.handshakeFailures]])
    total(m.bytes, [[{ direction: 'in' }, stats.bytesIn], [{ direction: 'out' }, stats.bytesOut]])
    total(m.frames, [[{ direction: 'in' }, stats.framesIn], [{ direction: 'out' }, stats.framesOut]])
    total(m.messagesIn, Object.entries(stats.messagesIn).map(([type, n]) => [{ type: type.toLowerCase() }, n]))
    total(m.direct, Object.entries(stats.direct).map(([event, n]) => [{ event }, n]))
    total(m.broadcasts, Object.entries(stats.broadcast).map(([event, n]) => [{ event: event === 'duplicates' ? 'duplicate' : event }, n]))
    total(m.heartbeatsMissed, [[{}, stats.heartbeatsMissed]])
    total(m.peersDown, [[{}, stats.peersDeclaredDown]])
    total(m.rejected, Object.entries(stats.rejected).map(([reason, n]) => [{ reason }, n]))
    if (this.#warnings) {
      m.warningsActive.reset()
      for (const metric of WARNING_METRICS) for (const origin of ['local', 'remote']) m.warningsActive.set({ metric, origin }, 0)
      for (const w of this.#warnings.active()) m.warningsActive.inc({ metric: w.metric, origin: w.local ? 'local' : 'remote' })
    }
  }

  #countWarning(warning: Warning, state: 'raised' | 'cleared'): void {
    this.#m.warnings.inc({ metric: warning.metric, origin: warning.local ? 'local' : 'remote', state })
  }
}

/** Sets a counter to the node's running totals (they only grow, so the counter does too). */
function total<L extends string>(counter: Counter<L>, values: Array<[Partial<Record<L, string>>, number]>): void {
  counter.reset()
  for (const [labels, value] of values) counter.inc(labels, value)
}
