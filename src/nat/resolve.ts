/** STUN servers as operators write them (HOST:PORT, HOST a name or an IPv4 address) to addresses a socket can send to. */
import dns from 'node:dns/promises'
import net from 'node:net'
import { NatError } from '../errors.js'
import type { RemoteAddress } from '../transport/connection.js'
import { STUN_DEFAULT_PORT } from './constants.js'

export type Resolver = (host: string) => Promise<string>

/** IPv4 only, like the node's socket. */
export const lookupIPv4: Resolver = async (host) => (await dns.lookup(host, { family: 4 })).address

/** "HOST:PORT" or "HOST" (port 3478) to { host, port }; throws OVL_STUN_SERVER_INVALID. */
export function parseServer(text: string): RemoteAddress {
  const match = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text.trim())
  const port = match?.[2] === undefined ? STUN_DEFAULT_PORT : Number(match[2])
  if (match === null || port < 1 || port > 65535) throw new NatError('OVL_STUN_SERVER_INVALID', `STUN server "${text}": expected HOST:PORT, for example 198.51.100.7:3478`)
  return { host: match[1] as string, port }
}

/** The server with its host resolved to an IPv4 address; throws OVL_STUN_SERVER_INVALID when it does not resolve in time. */
export async function resolveServer(server: RemoteAddress, options: { resolve?: Resolver; timeoutMs: number }): Promise<RemoteAddress> {
  if (net.isIPv4(server.host)) return server
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs)
  })
  try {
    const host = await Promise.race([(options.resolve ?? lookupIPv4)(server.host), timeout])
    return { host, port: server.port }
  } catch (cause) {
    throw new NatError('OVL_STUN_SERVER_INVALID', `STUN server ${server.host}:${server.port} does not resolve to an IPv4 address: ${(cause as Error).message}`, { cause })
  } finally {
    clearTimeout(timer)
  }
}
