/**
 * Section "dashboard": the cost of watching a node. Direct messages (acknowledged
 * node.send(), 64 B, a window in flight) between two nodes, with each node's
 * dashboard open and live (a client subscribed to its live updates, /metrics
 * scraped every second) against closed (no operator services at all), in one
 * run: short rounds alternate which goes first, and each side reports its
 * median. Target: open within 5 % of closed.
 *
 * In the table, "baseline" is the dashboard closed and "overlay" the dashboard open.
 */
import { DEFAULT_DASHBOARD } from '../src/dashboard/defaults.js'
import { startOperatorServices, type OperatorServices } from '../src/dashboard/operator.js'
import { silentLogger } from '../src/log/logger.js'
import { DEFAULT_METRICS, DEFAULT_THRESHOLDS } from '../src/metrics/defaults.js'
import { OverlayNode } from '../src/node/node.js'
import { DashboardWatcher } from './dashboard-watcher.js'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import { median, round } from './stats.js'
import { mapLimit, withCleanup } from './wait.js'

const MESSAGE_BYTES = 64
/** Messages awaiting their acknowledgement at once (the node allows 1024). */
const WINDOW = 256
/** Direct messages per trial: half the session section's small messages (each is acknowledged): a few seconds in a full run. */
const MESSAGES_SHARE = 2
/** Rounds per side for each of the scale's trials: short interleaved rounds cancel the drift of a busy machine. */
const ROUNDS_PER_TRIAL = 2
/** Limits out of the way: this measures the dashboard's cost, not the rate limits. */
const UNLIMITED = { messagesPerSecond: 10_000_000, deliveriesPerSecond: 10_000_000 }

interface Watched {
  operators: OperatorServices[]
  watchers: DashboardWatcher[]
}

async function open(nodes: OverlayNode[]): Promise<Watched> {
  const config = {
    dashboard: { ...DEFAULT_DASHBOARD, allowedHosts: [] },
    metrics: { ...DEFAULT_METRICS, process: false },
    thresholds: { ...DEFAULT_THRESHOLDS },
  }
  const operators = await Promise.all(nodes.map((node) => startOperatorServices({ node, config, logger: silentLogger })))
  const watchers = operators.map((operator) => new DashboardWatcher(operator))
  await Promise.all(watchers.map((w) => w.subscribed))
  return { operators, watchers }
}

async function close(watched: Watched | null): Promise<void> {
  if (watched === null) return
  for (const watcher of watched.watchers) watcher.close()
  await Promise.all(watched.operators.map((o) => o.close()))
}

/** Messages per second of `count` acknowledged direct messages from `from` to `to`. */
async function throughput(from: OverlayNode, to: OverlayNode, count: number): Promise<number> {
  const text = 'm'.repeat(MESSAGE_BYTES)
  const started = performance.now()
  await mapLimit(Array.from({ length: count }), WINDOW, () => from.send(to.nodeId, text))
  return count / ((performance.now() - started) / 1000)
}

export const dashboardSection: BenchSection = {
  name: 'dashboard',
  title: 'Direct messages with the dashboard open and live vs closed (baseline: closed, overlay: open)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { scale, fixture } = ctx
    const count = Math.max(5_000, Math.round(scale.smallMessages / MESSAGES_SHARE))
    const client = new OverlayNode({ host: '127.0.0.1', identity: fixture.client.identity, credentials: fixture.client.credentials, limits: UNLIMITED })
    const server = new OverlayNode({ host: '127.0.0.1', identity: fixture.server.identity, credentials: fixture.server.credentials, limits: UNLIMITED })
    let watched: Watched | null = null
    return withCleanup(
      async () => {
        await Promise.all([client.start(), server.start()])
        await client.connect(server.address)
        ctx.progress(`dashboard: warm-up (${Math.round(count / 4)} messages)`)
        await throughput(client, server, Math.round(count / 4))
        const closed: number[] = []
        const opened: number[] = []
        let events = 0
        let scrapes = 0
        const rounds = scale.trials * ROUNDS_PER_TRIAL
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? (['closed', 'open'] as const) : (['open', 'closed'] as const)
          for (const side of order) {
            ctx.progress(`dashboard: ${count} direct messages of ${MESSAGE_BYTES} B, dashboard ${side} (round ${r + 1}/${rounds})`)
            if (side === 'open') watched = await open([client, server])
            const rate = await throughput(client, server, count)
            if (side === 'open' && watched !== null) {
              events += watched.watchers.reduce((n, w) => n + w.events, 0)
              scrapes += watched.watchers.reduce((n, w) => n + w.scrapes, 0)
              await close(watched)
              watched = null
            }
            ;(side === 'open' ? opened : closed).push(rate)
          }
        }
        const closedRate = round(median(closed))
        const openRate = round(median(opened))
        return {
          figures: [
            { key: 'dashboard_direct_msgs_per_s', label: `${MESSAGE_BYTES} B direct messages, acknowledged (msg/s)`, better: 'higher', headline: true, target: { min: 0.95 }, baseline: closedRate, overlay: openRate },
          ],
          data: { messages_per_round: count, rounds_per_side: rounds, window: WINDOW, closed_trials: closed.map((r) => round(r)), open_trials: opened.map((r) => round(r)), live_events_received: events, metrics_scrapes: scrapes },
          notes: [`baseline = dashboard closed, overlay = dashboard open on both nodes with a live client each and /metrics scraped every second (${events} live events, ${scrapes} scrapes received)`],
        }
      },
      async () => {
        await close(watched)
        await Promise.all([client.stop(), server.stop()])
      },
    )
  },
}
