/**
 * The page's two actions: a direct message to a node (by id, id prefix, name
 * or host:port, as on the CLI) and a broadcast. Input is checked here; the
 * node's own limits apply behind it. Failures answer with the node's error
 * code, and every attempt shows among the recent messages.
 */
import { isOverlayError, type ErrorCode } from '../errors.js'
import type { OverlayNode } from '../node/node.js'
import { BodyError } from './body.js'
import { MAX_TEXT_CHARS } from './defaults.js'
import type { DashboardFeed } from './feed.js'

export type ApiNode = Pick<OverlayNode, 'nodeId' | 'name' | 'resolve' | 'send' | 'broadcast'>

export interface ApiResult {
  status: number
  body: unknown
}

/** How the node's errors map to HTTP statuses (anything else: 500). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  OVL_PEER_UNKNOWN: 404,
  OVL_PEER_AMBIGUOUS: 409,
  OVL_USAGE: 400,
  OVL_NO_ROUTE: 502,
  OVL_DELIVERY_TIMEOUT: 504,
  OVL_DELIVERY_REFUSED: 429,
  OVL_PENDING_LIMIT: 503,
  OVL_NODE_CLOSED: 503,
}

export async function sendDirect(node: ApiNode, feed: DashboardFeed, body: unknown): Promise<ApiResult> {
  const to = field(body, 'to', 200)
  const text = field(body, 'text', MAX_TEXT_CHARS)
  let target: string | null = null
  try {
    target = node.resolve(to)
    const receipt = await node.send(target, text)
    const toName = feed.nameOf(target)
    feed.sent({ from: node.nodeId, fromName: node.name, to: target, toName, text, broadcast: false, via: receipt.via, hops: receipt.hops, status: 'delivered', error: null })
    return { status: 200, body: { delivered: true, to: target, name: toName, via: receipt.via, hops: receipt.hops, rttMs: Math.round(receipt.rttMs * 100) / 100 } }
  } catch (err) {
    const failure = failed(err)
    feed.sent({ from: node.nodeId, fromName: node.name, to: target, toName: target === null ? to : feed.nameOf(target), text, broadcast: false, via: null, hops: null, status: 'failed', error: failure.code })
    return { status: STATUS[failure.code] ?? 500, body: { error: failure } }
  }
}

export function sendBroadcast(node: ApiNode, feed: DashboardFeed, body: unknown): ApiResult {
  const text = field(body, 'text', MAX_TEXT_CHARS)
  try {
    const sent = node.broadcast(text)
    feed.sent({ from: node.nodeId, fromName: node.name, to: null, toName: null, text, broadcast: true, via: null, hops: null, status: 'sent', error: null })
    return { status: 200, body: { seq: sent.seq, sentTo: sent.sentTo } }
  } catch (err) {
    const failure = failed(err)
    return { status: STATUS[failure.code] ?? 500, body: { error: failure } }
  }
}

function field(body: unknown, name: string, maxChars: number): string {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined
  if (typeof value !== 'string' || value.trim().length === 0) throw new BodyError(400, `"${name}" must be a non-empty string`)
  if (value.length > maxChars) throw new BodyError(413, `"${name}" is ${value.length} characters; at most ${maxChars}`)
  return value.trim()
}

function failed(err: unknown): { code: ErrorCode; message: string } {
  if (isOverlayError(err)) return { code: err.code, message: err.message }
  return { code: 'OVL_INTERNAL', message: String(err) }
}
