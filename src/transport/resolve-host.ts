/**
 * Host names as operators write them (bootstrap peers, STUN servers) to the
 * IPv4 address the node's socket sends to. Resolved at each use, not once at
 * start: a name's address may change while a node runs for weeks.
 */
import dns from 'node:dns/promises'
import net from 'node:net'
import type { RemoteAddress } from './connection.js'

export type Resolver = (host: string) => Promise<string>

/** IPv4 only, like the node's socket. */
export const lookupIPv4: Resolver = async (host) => (await dns.lookup(host, { family: 4 })).address

/** `remote` with its host resolved (as it is when already an IPv4 address); rejects with the resolver's error, or when it takes longer than `timeoutMs`. */
export async function resolveHost(remote: RemoteAddress, timeoutMs: number, resolve: Resolver = lookupIPv4): Promise<RemoteAddress> {
  if (net.isIPv4(remote.host)) return remote
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    const host = await Promise.race([resolve(remote.host), timeout])
    return { host, port: remote.port }
  } finally {
    clearTimeout(timer)
  }
}
