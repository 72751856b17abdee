/**
 * Everything an operator watches a node through, started in one call:
 * warning thresholds (logged, emitted, broadcast to the network), Prometheus
 * metrics, and the dashboard that serves the page and /metrics.
 *
 *   const operator = await startOperatorServices({ node, config, logger })
 *   console.log(`dashboard: ${operator.dashboardUrl}`)
 *   operator.warnings.on('raised', (w) => console.log(w.text))
 *   ...
 *   await operator.close()
 */
import type { Logger } from '../log/logger.js'
import type { MetricsSettings, ThresholdSettings } from '../metrics/defaults.js'
import { NodeMetrics } from '../metrics/node-metrics.js'
import { WarningService } from '../metrics/warnings.js'
import type { OverlayNode } from '../node/node.js'
import type { DashboardSettings } from './defaults.js'
import { startDashboard, type Dashboard } from './server.js'

export interface OperatorConfig {
  dashboard: DashboardSettings
  metrics: MetricsSettings
  thresholds: ThresholdSettings
}

export interface OperatorServicesInit {
  node: OverlayNode
  config: OperatorConfig
  logger: Logger
}

export interface OperatorServices {
  /** The dashboard's URL with its access token, or null when it is off. */
  readonly dashboardUrl: string | null
  readonly dashboard: Dashboard | null
  readonly metrics: NodeMetrics
  readonly warnings: WarningService
  /** Stops the thresholds' timer, the dashboard and its live clients. Idempotent. */
  close(): Promise<void>
}

export async function startOperatorServices({ node, config, logger }: OperatorServicesInit): Promise<OperatorServices> {
  const warnings = new WarningService({ node, settings: config.thresholds, logger: logger.child({ component: 'warnings' }) })
  const metrics = new NodeMetrics({ node, warnings, process: config.metrics.process })
  let dashboard: Dashboard | null = null
  try {
    if (config.dashboard.enabled) {
      dashboard = await startDashboard({
        node,
        warnings,
        metrics: config.metrics.enabled ? metrics : null,
        settings: config.dashboard,
        metricsSettings: config.metrics,
        rttWarnMs: config.thresholds.rttMs,
        logger: logger.child({ component: 'dashboard' }),
      })
    }
  } catch (err) {
    warnings.close()
    metrics.close()
    throw err
  }
  warnings.start()
  let closing: Promise<void> | null = null
  return {
    dashboardUrl: dashboard?.url ?? null,
    dashboard,
    metrics,
    warnings,
    close() {
      closing ??= (async () => {
        warnings.close()
        metrics.close()
        await dashboard?.close()
      })()
      return closing
    },
  }
}
