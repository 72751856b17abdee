/**
 * A UPnP Internet Gateway Device (IGD v1, WANIPConnection:1) through nat-upnp,
 * with promises and a time limit on everything: nat-upnp's HTTP requests have
 * none, and its SSDP search repeats for every call, so the gateway is found
 * once here (its SSDP sockets closed at once) and its actions are run directly.
 */
import natUpnp, { type Device } from 'nat-upnp'
import { NatError } from '../../errors.js'
import { UPNP_DESCRIPTION, UPNP_DISCOVERY_TIMEOUT_MS, UPNP_REQUEST_TIMEOUT_MS } from '../constants.js'

export interface IgdMappingEntry {
  internalHost: string
  internalPort: number
  leaseS: number
  description: string
}

export interface AddMapping {
  externalPort: number
  internalHost: string
  internalPort: number
  leaseS: number
}

export class Igd {
  /** The gateway's device description URL. */
  readonly location: string
  /** Our LAN address, as the interface the gateway answered on. */
  readonly localAddress: string
  readonly #device: Device
  readonly #requestTimeoutMs: number
  #closed = false

  private constructor(device: Device, localAddress: string, requestTimeoutMs: number) {
    this.#device = device
    this.location = device.description
    this.localAddress = localAddress
    this.#requestTimeoutMs = requestTimeoutMs
  }

  /** Searches the LAN by SSDP; OVL_UPNP_NO_GATEWAY when nothing answers within `timeoutMs`. */
  static discover(options: { timeoutMs?: number; requestTimeoutMs?: number } = {}): Promise<Igd> {
    const client = natUpnp.createClient()
    // nat-upnp listens for one 'error' per SSDP socket; a second (a send to an unreachable multicast route) would be thrown.
    for (const socket of client.ssdp.sockets) socket.on('error', () => {})
    client.timeout = options.timeoutMs ?? UPNP_DISCOVERY_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      client.findGateway((error, device, address) => {
        // Its actions are HTTP requests to the gateway: the SSDP sockets are not needed any more.
        client.close()
        if (error || !device || !address) {
          reject(new NatError('OVL_UPNP_NO_GATEWAY', `no UPnP gateway answered within ${client.timeout} ms`, { cause: error }))
          return
        }
        resolve(new Igd(device, address, options.requestTimeoutMs ?? UPNP_REQUEST_TIMEOUT_MS))
      })
    })
  }

  async externalIp(): Promise<string> {
    const body = await this.#run('GetExternalIPAddress', [])
    const ip = field(body, 'GetExternalIPAddressResponse', 'NewExternalIPAddress')
    if (!ip) throw new NatError('OVL_UPNP_REQUEST_FAILED', `the UPnP gateway at ${this.location} named no external address`)
    return ip
  }

  addMapping(mapping: AddMapping): Promise<void> {
    return this.#run('AddPortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', mapping.externalPort],
      ['NewProtocol', 'UDP'],
      ['NewInternalPort', mapping.internalPort],
      ['NewInternalClient', mapping.internalHost],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', UPNP_DESCRIPTION],
      ['NewLeaseDuration', mapping.leaseS],
    ]).then(() => undefined)
  }

  deleteMapping(externalPort: number): Promise<void> {
    return this.#run('DeletePortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', 'UDP'],
    ]).then(() => undefined)
  }

  /** The mapping of an external UDP port, or null when there is none (or the gateway will not say). */
  async getMapping(externalPort: number): Promise<IgdMappingEntry | null> {
    let body: Record<string, unknown>
    try {
      body = await this.#run('GetSpecificPortMappingEntry', [
        ['NewRemoteHost', ''],
        ['NewExternalPort', externalPort],
        ['NewProtocol', 'UDP'],
      ])
    } catch {
      // 714 NoSuchEntryInArray comes back as an HTTP 500, which nat-upnp reports without the code.
      return null
    }
    const get = (name: string): string | undefined => field(body, 'GetSpecificPortMappingEntryResponse', name)
    const internalHost = get('NewInternalClient')
    const internalPort = Number(get('NewInternalPort'))
    if (!internalHost || !Number.isInteger(internalPort)) return null
    return { internalHost, internalPort, leaseS: Number(get('NewLeaseDuration') ?? 0), description: get('NewPortMappingDescription') ?? '' }
  }

  /** Refuses further requests (SSDP sockets are closed as soon as the gateway is found). Idempotent. */
  close(): void {
    this.#closed = true
  }

  #run(action: string, args: Array<[string, string | number]>): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new NatError('OVL_UPNP_REQUEST_FAILED', `UPnP ${action}: the gateway client is closed`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new NatError('OVL_UPNP_REQUEST_FAILED', `UPnP ${action}: no answer from ${this.location} within ${this.#requestTimeoutMs} ms`)), this.#requestTimeoutMs)
      this.#device.run(action, args, (error, body) => {
        clearTimeout(timer)
        if (error || body === undefined) reject(new NatError('OVL_UPNP_REQUEST_FAILED', `UPnP ${action} at ${this.location} failed: ${error?.message ?? 'no body'}`, { cause: error }))
        else resolve(body)
      })
    })
  }
}

/** A field of a SOAP response body as xml2js gives it: { 'u:ActionResponse': { Name: 'value' } }. */
function field(body: Record<string, unknown>, response: string, name: string): string | undefined {
  const key = Object.keys(body).find((k) => k === response || k.endsWith(`:${response}`))
  const inner = key === undefined ? undefined : (body[key] as Record<string, unknown> | undefined)
  const value = inner?.[name]
  return typeof value === 'string' ? value : undefined
}
