/**
 * Warnings: on a timer (unref'ed, cleared on close) the sampler measures, the
 * thresholds judge, and each warning raised or cleared here is logged,
 * emitted, and broadcast to the network as a signed METRIC_WARNING (rate
 * limited). METRIC_WARNINGs from other nodes are decoded, kept and emitted
 * too, naming their origin.
 *
 *   const warnings = new WarningService({ node, settings: DEFAULT_THRESHOLDS, logger })
 *   warnings.on('raised', (w) => console.log(w.originName, w.text))
 *   warnings.start()
 */
import { EventEmitter } from 'node:events'
import { OverlayError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import type { BroadcastDelivery } from '../messaging/broadcast.js'
import { BroadcastKind } from '../messaging/messages.js'
import type { OverlayNode } from '../node/node.js'
import { ActiveWarnings, type WarningChanges } from './active-warnings.js'
import { BroadcastLimiter } from './broadcast-limiter.js'
import { MAX_WARNING_BROADCASTS_PER_EVALUATION, type ThresholdSettings } from './defaults.js'
import { RemoteWarnings } from './remote-warnings.js'
import { MetricSampler, type SampledNode } from './sampler.js'
import { readingsOver } from './thresholds.js'
import { decodeWarning, encodeWarning, type WarningState } from './warning-codec.js'
import type { Warning } from './warning.js'
import { peerName } from '../node/peer-info.js'

export type WarnedNode = SampledNode & Pick<OverlayNode, 'nodeId' | 'name' | 'knownPeers' | 'services' | 'running' | 'session' | 'store'>

export interface WarningServiceEvents {
  raised: [warning: Warning]
  cleared: [warning: Warning]
  /** A METRIC_WARNING from `from` that did not decode (OVL_METRIC_WARNING_MALFORMED). */
  rejected: [error: OverlayError, from: NodeId]
}

export interface WarningServiceInit {
  node: WarnedNode
  settings: ThresholdSettings
  logger: Logger
  /** Wall clock, ms since the epoch (tests move it). */
  now?: () => number
  /** Monotonic clock in ms for rates and windows (tests move it). */
  monotonic?: () => number
}

export class WarningService extends EventEmitter<WarningServiceEvents> {
  readonly settings: Readonly<ThresholdSettings>
  readonly #node: WarnedNode
  readonly #log: Logger
  readonly #now: () => number
  readonly #sampler: MetricSampler
  readonly #local: ActiveWarnings
  readonly #remote: RemoteWarnings
  readonly #limiter: BroadcastLimiter<Buffer>
  readonly #onBroadcast = (delivery: BroadcastDelivery): void => this.#received(delivery)
  #timer: NodeJS.Timeout | null = null
  #closed = false

  constructor(init: WarningServiceInit) {
    super()
    this.settings = Object.freeze({ ...init.settings })
    this.#node = init.node
    this.#log = init.logger
    this.#now = init.now ?? Date.now
    this.#sampler = new MetricSampler(init.node, { lossWindowMs: this.settings.lossWindowMs, ...(init.monotonic ? { now: init.monotonic } : {}) })
    this.#local = new ActiveWarnings({ origin: init.node.nodeId, originName: init.node.name, nameOf: (id) => this.nameOf(id), now: this.#now })
    this.#remote = new RemoteWarnings(init.monotonic ? { now: init.monotonic } : {})
    this.#limiter = new BroadcastLimiter(this.settings.broadcastIntervalMs, MAX_WARNING_BROADCASTS_PER_EVALUATION)
    init.node.on('broadcast', this.#onBroadcast)
  }

  /** Evaluates every `evaluateIntervalMs` until close(). */
  start(): void {
    if (this.#closed || this.#timer !== null) return
    this.#timer = setInterval(() => this.evaluate(), this.settings.evaluateIntervalMs).unref()
  }

  /** One evaluation: measure, judge, report what changed, send what the rate limit allows. */
  evaluate(): WarningChanges {
    if (this.#closed) return { raised: [], cleared: [] }
    const changes = this.#local.update(readingsOver(this.#sampler.sample(), this.settings))
    for (const warning of changes.raised) this.#report('raised', warning)
    for (const warning of changes.cleared) this.#report('cleared', warning)
    if (this.settings.broadcast && this.#node.running) {
      this.#limiter.flush(this.#now(), (payload) => this.#node.services.broadcast.broadcast(BroadcastKind.MetricWarning, payload).sentTo > 0)
    }
    return changes
  }

  /** Every warning in force: raised here, then received. */
  active(): Warning[] {
    return [...this.#local.list(), ...this.#remote.list()]
  }

  /** A node's name, from its session or the peer cache. */
  nameOf(id: NodeId): string | null {
    if (id === this.#node.nodeId) return this.#node.name
    return peerName(this.#node, id)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#node.off('broadcast', this.#onBroadcast)
    this.#sampler.close()
  }

  #report(state: WarningState, warning: Warning): void {
    const fields = { metric: warning.metric, subject: warning.subject, value: warning.value, threshold: warning.threshold }
    if (state === 'raised') this.#log.warn(fields, `warning: ${warning.text}`)
    else this.#log.info(fields, `warning cleared: ${warning.text}`)
    this.emit(state, warning)
    if (this.settings.broadcast) this.#limiter.offer(warning.key, state, encodeWarning({ ...warning, state }))
  }

  #received(delivery: BroadcastDelivery): void {
    if (delivery.kind !== BroadcastKind.MetricWarning) return
    let payload
    try {
      payload = decodeWarning(delivery.payload)
    } catch (err) {
      const error = err instanceof OverlayError ? err : new OverlayError('OVL_METRIC_WARNING_MALFORMED', String(err))
      this.#log.debug({ origin: delivery.origin.slice(0, 10), code: error.code }, error.message)
      this.emit('rejected', error, delivery.origin)
      return
    }
    const names = { origin: this.nameOf(delivery.origin), subject: payload.subject === null ? null : this.nameOf(payload.subject) }
    const { warning, isNew } = this.#remote.apply(delivery.origin, payload, names)
    const who = names.origin ?? delivery.origin.slice(0, 12)
    const fields = { origin: delivery.origin, metric: warning.metric, subject: warning.subject, value: warning.value, threshold: warning.threshold }
    if (payload.state === 'cleared') {
      // Only a warning shown here is cleared here: clears of made-up keys must not flood logs and consoles.
      if (isNew) return
      this.#log.info(fields, `warning from ${who} cleared: ${warning.text}`)
      this.emit('cleared', warning)
    } else if (isNew) {
      this.#log.warn(fields, `warning from ${who}: ${warning.text}`)
      this.emit('raised', warning)
    }
  }
}
