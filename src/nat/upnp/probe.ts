/** netcheck's UPnP question: does a gateway answer, and what is its external address? Maps nothing. */
import { OverlayError } from '../../errors.js'
import { Igd } from './igd.js'

export interface UpnpProbe {
  found: boolean
  /** The gateway's external IPv4 address, when it said. */
  externalIp: string | null
  /** Its device description URL. */
  gateway: string | null
  error: { code: string; message: string } | null
}

/** Never rejects: a missing gateway is an answer (found: false, with the reason). */
export async function probeUpnp(options: { timeoutMs: number }): Promise<UpnpProbe> {
  let igd: Igd
  try {
    igd = await Igd.discover({ timeoutMs: options.timeoutMs, requestTimeoutMs: options.timeoutMs })
  } catch (err) {
    return { found: false, externalIp: null, gateway: null, error: describe(err) }
  }
  try {
    return { found: true, externalIp: await igd.externalIp(), gateway: igd.location, error: null }
  } catch (err) {
    return { found: true, externalIp: null, gateway: igd.location, error: describe(err) }
  } finally {
    igd.close()
  }
}

function describe(err: unknown): { code: string; message: string } {
  return err instanceof OverlayError ? { code: err.code, message: err.message } : { code: 'OVL_INTERNAL', message: String(err) }
}
