/** Asks a LAN's UPnP gateway something, from a host in the lab, with the nat-upnp package. */
import { fileURLToPath } from 'node:url'
import { LabError } from '../errors.js'
import type { Lab } from '../lab.js'
import type { Where } from '../types.js'
import type { UpnpAnswer, UpnpRequest } from './protocol.js'

const IGD_CLIENT = fileURLToPath(new URL('./igd-client.ts', import.meta.url))
const UPNP_CALL_TIMEOUT_MS = 30_000

type Answer<Op extends UpnpRequest['op']> = Extract<UpnpAnswer, { ok: true; op: Op }>

/** Runs the request in `where`; throws LAB_PROBE_FAILED with nat-upnp's error when it fails. */
export async function upnp<R extends UpnpRequest>(lab: Lab, where: Where, request: R): Promise<Answer<R['op']>> {
  const result = await lab.exec(where, [process.execPath, '--import', 'tsx', IGD_CLIENT, JSON.stringify(request)], { timeoutMs: UPNP_CALL_TIMEOUT_MS })
  const line = result.stdout.trim().split('\n').pop() ?? ''
  let answer: UpnpAnswer
  try {
    answer = JSON.parse(line) as UpnpAnswer
  } catch {
    throw new LabError('LAB_PROBE_FAILED', `UPnP ${request.op}: no answer (exit ${result.code}): ${result.stderr.trim()}`)
  }
  if (!answer.ok) throw new LabError('LAB_PROBE_FAILED', `UPnP ${request.op}: ${answer.error}`)
  return answer as Answer<R['op']>
}
