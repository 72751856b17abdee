/**
 * Writing responses. Every response carries the same security headers: a
 * strict Content-Security-Policy (scripts, styles and connections only from
 * the dashboard itself, no framing), no sniffing, no referrer, no caching,
 * resources not loadable by other origins. There are no CORS headers, ever:
 * no other origin may read anything from the dashboard.
 */
import type { ServerResponse } from 'node:http'
import type { ErrorCode } from '../errors.js'
import type { Refusal } from './guard.js'

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
})

export function writeHead(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers })
}

export function sendBody(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  writeHead(res, status, { 'content-type': type, 'content-length': bytes.length, ...headers })
  res.end(bytes)
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(value))
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  sendJson(res, status, { error: { code, message } })
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendError(res, refusal.status, refusal.code, refusal.message)
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  writeHead(res, 303, { location, 'content-length': 0, ...headers })
  res.end()
}
