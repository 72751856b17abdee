/**
 * The checks every dashboard request goes through, in order:
 *
 *   1. Host: one of the dashboard's own names and port (DNS rebinding).
 *   2. Site: a browser's Sec-Fetch-Site must be same-origin or none (typed or
 *      opened URL), and an Origin, when sent, must be the dashboard's own.
 *      A state-changing request needs an Origin, unless it carries the token
 *      as a Bearer header (scripts; browsers never add one on their own).
 *   3. Access. Data and actions (the API, the live stream, /metrics) take the
 *      token itself, as `Authorization: Bearer <token>`: the page keeps it in
 *      its tab's sessionStorage, which no other origin (port included) can
 *      read. The page and its files also take the session cookie the printed
 *      URL's `?token=` is traded for: cookies are not kept apart by port, so
 *      the cookie opens nothing but the page's own code.
 *
 * A refusal says which check failed, with a stable code; nothing else about
 * the dashboard is revealed before the checks pass.
 */
import type { IncomingMessage } from 'node:http'
import type { ErrorCode } from '../errors.js'
import type { HostPolicy } from './hosts.js'
import type { AccessToken } from './token.js'

export interface Refusal {
  status: number
  code: ErrorCode
  message: string
}

/** What a route needs: the entry takes ?token=; the page and its files the cookie or the token; data and actions the token. */
export type AccessLevel = 'entry' | 'page' | 'api' | 'public'

export type Credential = 'bearer' | 'cookie' | 'token' | 'none'

export class RequestGuard {
  readonly #token: AccessToken
  readonly #hosts: HostPolicy
  readonly cookieName: string

  constructor(init: { token: AccessToken; hosts: HostPolicy; port: number }) {
    this.#token = init.token
    this.#hosts = init.hosts
    // Cookies are not kept apart by port: the name carries it, so two dashboards on one host do not overwrite each other.
    this.cookieName = `overlay_dashboard_${init.port}`
  }

  /** Host and site checks: run first, on every request. */
  checkRequest(req: IncomingMessage, stateChanging: boolean): Refusal | null {
    const host = req.headers.host
    if (!this.#hosts.allows(host) || !(req.url ?? '').startsWith('/')) {
      return { status: 403, code: 'OVL_DASHBOARD_HOST_REFUSED', message: 'this dashboard answers only to its own address' }
    }
    const site = req.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return { status: 403, code: 'OVL_DASHBOARD_ORIGIN_REFUSED', message: `requests from another site (${site}) are refused` }
    }
    const origin = req.headers.origin
    if (origin !== undefined && origin !== this.#hosts.originOf(host as string)) {
      return { status: 403, code: 'OVL_DASHBOARD_ORIGIN_REFUSED', message: 'requests from another origin are refused' }
    }
    if (stateChanging && origin === undefined && bearer(req) === null) {
      return { status: 403, code: 'OVL_DASHBOARD_ORIGIN_REFUSED', message: 'a state-changing request needs an Origin header or the token as a Bearer header' }
    }
    return null
  }

  /** Which credential grants `level`, or null when none does. */
  authenticate(req: IncomingMessage, url: URL, level: AccessLevel): Credential | null {
    if (level === 'public') return 'none'
    const token = bearer(req)
    if (token !== null) return this.#token.matches(token) ? 'bearer' : null
    if (level === 'entry') {
      const query = url.searchParams.get('token')
      if (query !== null) return this.#token.matches(query) ? 'token' : null
    }
    if (level === 'api') return null
    const cookie = cookieValue(req.headers.cookie, this.cookieName)
    return cookie !== null && this.#token.matchesCookie(cookie) ? 'cookie' : null
  }

  /** The cookie the printed URL's token is traded for: HttpOnly, SameSite=Strict, whole dashboard, gone when the browser closes. */
  sessionCookie(): string {
    return `${this.cookieName}=${this.#token.cookieValue}; HttpOnly; SameSite=Strict; Path=/`
  }

  /** Where the entry sends the browser: the page, with the token in the fragment (never sent to a server) for the page to keep. */
  entryRedirect(): string {
    return `/#token=${this.#token.value}`
  }
}

export const UNAUTHORIZED: Refusal = {
  status: 401,
  code: 'OVL_DASHBOARD_UNAUTHORIZED',
  message: 'open the dashboard with the URL the node printed (it carries the access token); scripts send the token as a Bearer header',
}

function bearer(req: IncomingMessage): string | null {
  const header = req.headers.authorization
  if (header === undefined) return null
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  return match ? (match[1] as string) : ''
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}
