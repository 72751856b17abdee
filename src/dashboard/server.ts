/**
 * The dashboard: an HTTP server the node serves on a local address (loopback
 * by default), with the page, its JSON API and live updates, and /metrics.
 * Start with startDashboard(); its `url` carries the access token and is the
 * one thing to print. close() ends every live client and frees the port.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { DashboardError } from '../errors.js'
import type { Logger } from '../log/logger.js'
import type { MetricsSettings } from '../metrics/defaults.js'
import type { ApiNode } from './api.js'
import { Assets } from './assets.js'
import { KEEPALIVE_MS, MAX_CLIENT_BACKLOG_BYTES, MAX_LIVE_CLIENTS, type DashboardSettings } from './defaults.js'
import { DashboardFeed, type FeedNode, type FeedWarnings } from './feed.js'
import { RequestGuard } from './guard.js'
import { HostPolicy } from './hosts.js'
import { LiveHub } from './live.js'
import { createHandler, type MetricsSource } from './routes.js'
import { AccessToken } from './token.js'

/** Time for a client to send its request headers and body (a live stream's response may last forever). */
const HEADERS_TIMEOUT_MS = 5_000
const REQUEST_TIMEOUT_MS = 10_000

export interface DashboardInit {
  node: FeedNode & ApiNode
  warnings: FeedWarnings
  metrics: MetricsSource | null
  settings: Pick<DashboardSettings, 'host' | 'port' | 'tokenFile' | 'allowedHosts'>
  metricsSettings: Pick<MetricsSettings, 'requireToken'>
  /** For health colours on the map: a round trip above this is slow. */
  rttWarnMs: number | null
  logger: Logger
}

export interface Dashboard {
  /** The URL to open, with the access token in it. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly token: AccessToken
  readonly feed: DashboardFeed
  /** Live clients now. */
  readonly liveClients: number
  close(): Promise<void>
}

export async function startDashboard(init: DashboardInit): Promise<Dashboard> {
  const { settings, logger } = init
  const token = settings.tokenFile ? await AccessToken.fromFile(settings.tokenFile) : AccessToken.generate()
  const assets = await Assets.load()
  const server = http.createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS })
  const port = await listen(server, settings.host, settings.port)
  const hosts = new HostPolicy({ host: settings.host, port }, settings.allowedHosts)
  const guard = new RequestGuard({ token, hosts, port })
  const hub = new LiveHub({ maxClients: MAX_LIVE_CLIENTS, keepaliveMs: KEEPALIVE_MS, maxBacklogBytes: MAX_CLIENT_BACKLOG_BYTES })
  const feed = new DashboardFeed({ node: init.node, warnings: init.warnings, hub, rttWarnMs: init.rttWarnMs })
  server.on('request', createHandler({ node: init.node, feed, hub, assets, guard, metrics: init.metrics, metricsRequireToken: init.metricsSettings.requireToken, logger }))
  const base = `http://${hosts.urlHost}:${port}/`
  logger.info({ url: `${base}?token=${token.redacted}` }, 'dashboard listening')

  let closing: Promise<void> | null = null
  return {
    url: `${base}?token=${token.value}`,
    host: settings.host,
    port,
    token,
    feed,
    get liveClients() {
      return hub.size
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        hub.close()
        feed.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new DashboardError('OVL_DASHBOARD_BIND', `the dashboard cannot listen on ${host}:${port} (${err.code ?? err.message}); choose another with --dashboard HOST:PORT or dashboard.port`, { cause: err }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
