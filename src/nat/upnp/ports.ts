/** Which external port to map: the node's own port when free on the gateway, else another. */
import { randomInt } from 'node:crypto'
import { NatError } from '../../errors.js'
import type { RemoteAddress } from '../../transport/connection.js'
import { UPNP_MIN_PORT, UPNP_PORT_ATTEMPTS } from '../constants.js'
import type { Igd } from './igd.js'

/**
 * Maps `internal` to the first external port that is free (or already ours):
 * the internal port first, then random ones. Returns the external port; throws
 * OVL_UPNP_PORT_TAKEN when every port tried belongs to another host, or the
 * gateway's last refusal (OVL_UPNP_REQUEST_FAILED).
 */
export async function mapFreePort(
  igd: Pick<Igd, 'getMapping' | 'addMapping'>,
  internal: RemoteAddress,
  leaseS: number,
  options: { attempts?: number; randomPort?: () => number } = {},
): Promise<number> {
  const attempts = options.attempts ?? UPNP_PORT_ATTEMPTS
  const randomPort = options.randomPort ?? (() => randomInt(UPNP_MIN_PORT, 65536))
  const tried = new Set<number>()
  let refusal: NatError | null = null
  for (let i = 0; i < attempts * 4 && tried.size < attempts; i++) {
    const port = tried.size === 0 && internal.port >= UPNP_MIN_PORT ? internal.port : randomPort()
    if (tried.has(port)) continue
    tried.add(port)
    const existing = await igd.getMapping(port)
    if (existing && (existing.internalHost !== internal.host || existing.internalPort !== internal.port)) continue
    try {
      await igd.addMapping({ externalPort: port, internalHost: internal.host, internalPort: internal.port, leaseS })
      return port
    } catch (err) {
      refusal = err instanceof NatError ? err : new NatError('OVL_UPNP_REQUEST_FAILED', String(err), { cause: err })
    }
  }
  if (refusal) throw refusal
  throw new NatError('OVL_UPNP_PORT_TAKEN', `external UDP ports ${[...tried].join(', ')} are all mapped to other hosts on the UPnP gateway`)
}
