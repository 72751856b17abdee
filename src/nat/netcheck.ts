/**
 * netcheck: what the network does to this socket's UDP, like `tailscale
 * netcheck`. Asks every STUN server from one socket at once (so the answers
 * compare one mapping), classifies the NAT (classify.ts), and meanwhile looks
 * for a UPnP gateway. A running node calls it with its own StunEndpoint, to set
 * its NAT type and Reflexive candidate; `overlay netcheck` with a throwaway
 * socket.
 *
 * @example
 * const report = await netcheck({ stun: endpoint, servers: [{ host: '198.51.100.7', port: 3478 }, { host: 'stun.example.org', port: 3478 }], local: localAddresses(socket.address()) })
 * report.behaviour   // 'open' | 'easy' | 'hard' | 'blocked' | 'unknown'
 * report.reflexive   // { host, port } or null
 */
import { abortError, NatError, OverlayError } from '../errors.js'
import type { RemoteAddress } from '../transport/connection.js'
import { classifyNat, type NatClassification, type StunObservation } from './classify.js'
import { NETCHECK_DEFAULT_TIMEOUT_MS, NETCHECK_MAX_SERVERS } from './constants.js'
import { resolveServer, type Resolver } from './resolve.js'
import type { StunAnswer, StunQueryOptions } from './stun/client.js'
import type { UpnpProbe } from './upnp/probe.js'

export interface NetcheckInit {
  /** Queries from the socket whose NAT is wanted: the node's StunEndpoint. */
  stun: { query(server: RemoteAddress, options?: StunQueryOptions): Promise<StunAnswer> }
  /** STUN servers (host names allowed); the first NETCHECK_MAX_SERVERS are asked, each distinct address once. */
  servers: readonly RemoteAddress[]
  /** The socket's own addresses (localAddresses(socket.address())): an answer equal to one means no NAT. */
  local: readonly RemoteAddress[]
  /** For everything: resolving names, STUN answers, the UPnP gateway (default NETCHECK_DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number
  signal?: AbortSignal
  /** Looks for a UPnP gateway meanwhile (probeUpnp); leave out to skip (a node whose UpnpMapper runs). */
  upnp?: (options: { timeoutMs: number }) => Promise<UpnpProbe>
  resolve?: Resolver
}

export interface ServerReport {
  /** As given, HOST:PORT. */
  server: string
  /** Its IPv4 address, once resolved. */
  address: RemoteAddress | null
  mapped: RemoteAddress | null
  rttMs: number | null
  error: { code: string; message: string } | null
}

export interface NetcheckReport extends NatClassification {
  servers: ServerReport[]
  /** null: not checked. */
  upnp: UpnpProbe | null
  durationMs: number
}

export async function netcheck(init: NetcheckInit): Promise<NetcheckReport> {
  if (init.signal?.aborted) throw abortError(init.signal)
  if (init.servers.length === 0) throw new NatError('OVL_NETCHECK_NO_SERVERS', 'no STUN server to ask: configure stun: or pass --stun HOST:PORT (or bootstrap peers, which answer STUN)')
  const started = performance.now()
  const timeoutMs = init.timeoutMs ?? NETCHECK_DEFAULT_TIMEOUT_MS
  const upnp = init.upnp ? init.upnp({ timeoutMs }) : Promise.resolve(null)
  const given = init.servers.slice(0, NETCHECK_MAX_SERVERS)

  const resolved = await Promise.all(given.map((server) => settle(resolveServer(server, { timeoutMs, ...(init.resolve ? { resolve: init.resolve } : {}) }))))
  const queries = new Map<string, Promise<StunAnswer | OverlayError>>()
  const remaining = Math.max(1, Math.round(timeoutMs - (performance.now() - started)))
  for (const result of resolved) {
    if (result instanceof OverlayError) continue
    const key = `${result.host}:${result.port}`
    if (!queries.has(key)) queries.set(key, settle(init.stun.query(result, { timeoutMs: remaining, ...(init.signal ? { signal: init.signal } : {}) })))
  }
  const answers = new Map<string, StunAnswer | OverlayError>()
  for (const [key, query] of queries) answers.set(key, await query)
  if (init.signal?.aborted) throw abortError(init.signal)

  const servers: ServerReport[] = []
  const observations: StunObservation[] = []
  given.forEach((server, i) => {
    const address = resolved[i] as RemoteAddress | OverlayError
    const report: ServerReport = { server: `${server.host}:${server.port}`, address: null, mapped: null, rttMs: null, error: null }
    servers.push(report)
    if (address instanceof OverlayError) return void (report.error = { code: address.code, message: address.message })
    report.address = address
    const answer = answers.get(`${address.host}:${address.port}`) as StunAnswer | OverlayError
    if (answer instanceof OverlayError) report.error = { code: answer.code, message: answer.message }
    else Object.assign(report, { mapped: answer.mapped, rttMs: round(answer.rttMs) })
  })
  // Each distinct address counts once in the classification.
  for (const [key, answer] of answers) {
    const [host, port] = key.split(':') as [string, string]
    observations.push({ server: { host, port: Number(port) }, mapped: answer instanceof OverlayError ? null : answer.mapped })
  }
  return { ...classifyNat({ local: init.local, observations }), servers, upnp: await upnp, durationMs: round(performance.now() - started) }
}

/** The value, or the error as an OverlayError (any other error is a bug: OVL_INTERNAL). */
async function settle<T>(promise: Promise<T>): Promise<T | OverlayError> {
  try {
    return await promise
  } catch (err) {
    return err instanceof OverlayError ? err : new OverlayError('OVL_INTERNAL', String(err), { cause: err })
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10
