/**
 * The dashboard's routes. Every request passes the guard's host and site
 * checks first, then the access its route needs; only then is anything
 * looked up. Paths not listed here answer 404 (after authentication, so
 * they reveal nothing either).
 *
 *   GET  /?token=T         sets the session cookie, redirects to /#token=T (the page keeps the token)
 *   GET  /                 the page                          cookie or token
 *   GET  /app/*, /vendor/* its scripts and styles            cookie or token
 *   GET  /api/state        everything the page shows, JSON   token
 *   GET  /api/events       live updates (server-sent events) token
 *   POST /api/send         {to, text}: a direct message      token (+ its own Origin, from a browser)
 *   POST /api/broadcast    {text}: a broadcast               token (+ its own Origin, from a browser)
 *   GET  /metrics          Prometheus text                   token (none: metrics.requireToken false)
 *
 * "token": `Authorization: Bearer <token>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../log/logger.js'
import { sendBroadcast, sendDirect, type ApiNode, type ApiResult } from './api.js'
import type { Assets } from './assets.js'
import { BodyError, readJson } from './body.js'
import { MAX_BODY_BYTES } from './defaults.js'
import type { DashboardFeed } from './feed.js'
import { UNAUTHORIZED, type AccessLevel, type RequestGuard } from './guard.js'
import type { LiveHub } from './live.js'
import { redirect, sendBody, sendError, sendJson, sendRefusal } from './respond.js'

export interface MetricsSource {
  text(): Promise<string>
  readonly contentType: string
}

export interface RoutesInit {
  node: ApiNode
  feed: DashboardFeed
  hub: LiveHub
  assets: Assets
  guard: RequestGuard
  metrics: MetricsSource | null
  metricsRequireToken: boolean
  logger: Logger
}

interface Route {
  method: 'GET' | 'POST'
  access: AccessLevel
  run(ctx: RoutesInit, req: IncomingMessage, res: ServerResponse): Promise<void> | void
}

function routes(ctx: RoutesInit): Record<string, Route> {
  const table: Record<string, Route> = {
    '/': {
      method: 'GET',
      access: 'entry',
      run: (c, _req, res) => {
        const page = c.assets.page()
        sendBody(res, 200, page.type, page.body)
      },
    },
    '/api/state': { method: 'GET', access: 'api', run: (c, _req, res) => sendJson(res, 200, { ...c.feed.state(), series: c.feed.series() }) },
    '/api/events': {
      method: 'GET',
      access: 'api',
      run: (c, req, res) => {
        if (!c.hub.add(req, res)) sendError(res, 503, 'OVL_DASHBOARD_BUSY', 'too many live clients; close another dashboard tab and retry')
      },
    },
    '/api/send': { method: 'POST', access: 'api', run: async (c, req, res) => answer(res, await sendDirect(c.node, c.feed, await readJson(req, MAX_BODY_BYTES))) },
    '/api/broadcast': { method: 'POST', access: 'api', run: async (c, req, res) => answer(res, sendBroadcast(c.node, c.feed, await readJson(req, MAX_BODY_BYTES))) },
  }
  if (ctx.metrics !== null) {
    const metrics = ctx.metrics
    table['/metrics'] = { method: 'GET', access: ctx.metricsRequireToken ? 'api' : 'public', run: async (_c, _req, res) => sendBody(res, 200, metrics.contentType, await metrics.text()) }
  }
  return table
}

export function createHandler(ctx: RoutesInit): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(ctx)
  return (req, res) => {
    handle(ctx, table, req, res).catch((err: unknown) => {
      if (err instanceof BodyError) {
        res.setHeader('connection', 'close')
        return sendError(res, err.status, err.code, err.message)
      }
      ctx.logger.error({ err, path: req.url?.split('?')[0] }, 'dashboard request failed')
      if (!res.headersSent) sendError(res, 500, 'OVL_INTERNAL', 'internal error')
      else res.destroy()
    })
  }
}

async function handle(ctx: RoutesInit, table: Record<string, Route>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET'
  const refusal = ctx.guard.checkRequest(req, method !== 'GET' && method !== 'HEAD')
  if (refusal) return sendRefusal(res, refusal)
  const url = new URL(req.url as string, 'http://dashboard.invalid')
  const asset = method === 'GET' && url.pathname !== '/' ? ctx.assets.get(url.pathname) : undefined
  const route: Route | undefined = asset ? { method: 'GET', access: 'page', run: (_c, _r, response) => sendBody(response, 200, asset.type, asset.body) } : table[url.pathname]
  const credential = ctx.guard.authenticate(req, url, route?.access ?? 'page')
  if (credential === null) return sendRefusal(res, UNAUTHORIZED)
  if (route === undefined) return sendError(res, 404, 'OVL_DASHBOARD_REQUEST_INVALID', `no such path: ${url.pathname}`)
  if (method !== route.method) {
    res.setHeader('allow', route.method)
    return sendError(res, 405, 'OVL_DASHBOARD_REQUEST_INVALID', `${url.pathname} takes ${route.method} only`)
  }
  if (credential === 'token') {
    // The printed URL: set the cookie; the page takes the token from the fragment and clears the address bar.
    return redirect(res, ctx.guard.entryRedirect(), { 'set-cookie': ctx.guard.sessionCookie() })
  }
  await route.run(ctx, req, res)
}

function answer(res: ServerResponse, result: ApiResult): void {
  sendJson(res, result.status, result.body)
}
