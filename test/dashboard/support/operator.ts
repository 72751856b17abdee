/** In-process nodes with their operator services (dashboard, metrics, warnings), closed after the test. */
import type { TestContext } from 'node:test'
import { DEFAULT_DASHBOARD, type DashboardSettings } from '../../../src/dashboard/defaults.js'
import { startOperatorServices, type OperatorServices } from '../../../src/dashboard/operator.js'
import { silentLogger, type Logger } from '../../../src/log/logger.js'
import { DEFAULT_METRICS, DEFAULT_THRESHOLDS, type MetricsSettings, type ThresholdSettings } from '../../../src/metrics/defaults.js'
import type { OverlayNode } from '../../../src/node/node.js'

export interface OperatorOverrides {
  dashboard?: Partial<DashboardSettings>
  metrics?: Partial<MetricsSettings>
  thresholds?: Partial<ThresholdSettings>
  logger?: Logger
}

export async function operatorFor(t: TestContext, node: OverlayNode, overrides: OperatorOverrides = {}): Promise<OperatorServices> {
  const operator = await startOperatorServices({
    node,
    config: {
      dashboard: { ...DEFAULT_DASHBOARD, ...overrides.dashboard },
      metrics: { ...DEFAULT_METRICS, process: false, ...overrides.metrics },
      thresholds: { ...DEFAULT_THRESHOLDS, ...overrides.thresholds },
    },
    logger: overrides.logger ?? silentLogger,
  })
  t.after(() => operator.close())
  return operator
}

/** The dashboard's port and token (the dashboard must be on). */
export function access(operator: OperatorServices): { port: number; token: string; bearer: Record<string, string> } {
  const dashboard = operator.dashboard
  if (dashboard === null) throw new Error('the dashboard is off')
  return { port: dashboard.port, token: dashboard.token.value, bearer: { authorization: `Bearer ${dashboard.token.value}` } }
}
