/** STUN servers as operators write them (HOST:PORT, HOST a name or an IPv4 address) to addresses a socket can send to. */
import { NatError } from '../errors.js'
import type { RemoteAddress } from '../transport/connection.js'
import { resolveHost, type Resolver } from '../transport/resolve-host.js'
import { STUN_DEFAULT_PORT } from './constants.js'

export { lookupIPv4, type Resolver } from '../transport/resolve-host.js'

/** "HOST:PORT" or "HOST" (port 3478) to { host, port }; throws OVL_STUN_SERVER_INVALID. */
export function parseServer(text: string): RemoteAddress {
  const match = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text.trim())
  const port = match?.[2] === undefined ? STUN_DEFAULT_PORT : Number(match[2])
  if (match === null || port < 1 || port > 65535) throw new NatError('OVL_STUN_SERVER_INVALID', `STUN server "${text}": expected HOST:PORT, for example 198.51.100.7:3478`)
  return { host: match[1] as string, port }
}

/** The server with its host resolved to an IPv4 address; throws OVL_STUN_SERVER_INVALID when it does not resolve in time. */
export async function resolveServer(server: RemoteAddress, options: { resolve?: Resolver; timeoutMs: number }): Promise<RemoteAddress> {
  try {
    return await resolveHost(server, options.timeoutMs, options.resolve)
  } catch (cause) {
    throw new NatError('OVL_STUN_SERVER_INVALID', `STUN server ${server.host}:${server.port} does not resolve to an IPv4 address: ${(cause as Error).message}`, { cause })
  }
}
