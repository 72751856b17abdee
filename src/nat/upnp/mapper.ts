/**
 * Keeps the node's UDP port mapped on the LAN's UPnP gateway: finds the
 * gateway (bounded time), maps the port (the same external port, or another
 * free one when it is taken), checks the mapping works through the node's
 * `verify` hook before reporting it, renews the lease before it ends, and
 * deletes the mapping on stop. Failed attempts are retried after `retryMs`.
 *
 * @example
 * const upnp = new UpnpMapper({ localPort: 9000, verify: (external) => dialBack(external) })
 * upnp.on('mapped', (m) => self.setCandidates(AddressKind.Mapped, [`${m.external.host}:${m.external.port}`]))
 * upnp.on('lost', () => self.setCandidates(AddressKind.Mapped, []))
 * upnp.on('failed', (error) => log.info({ code: error.code }, error.message))
 * upnp.start()
 * // ...
 * await upnp.stop()
 */
import { EventEmitter } from 'node:events'
import { NatError, OverlayError } from '../../errors.js'
import type { RemoteAddress } from '../../transport/connection.js'
import { UPNP_DEFAULT_LEASE_S, UPNP_DEFAULT_RETRY_MS, UPNP_DISCOVERY_TIMEOUT_MS, UPNP_REQUEST_TIMEOUT_MS, UPNP_RENEW_AT, UPNP_STOP_TIMEOUT_MS } from '../constants.js'
import { isNonPublicIPv4 } from '../local.js'
import { Igd } from './igd.js'
import { mapFreePort } from './ports.js'

export interface UpnpMapping {
  /** What to advertise (a Mapped candidate). */
  external: RemoteAddress
  /** The node's socket on the LAN. */
  internal: RemoteAddress
  leaseS: number
  /** The gateway's device description URL. */
  gateway: string
}

export interface UpnpMapperInit {
  /** The node's UDP port. */
  localPort: number
  /** The node's LAN address; default: the address the gateway answered on (right for a socket on 0.0.0.0). */
  internalHost?: string
  /**
   * Does a packet sent to `external` reach the node? The node asks a peer to
   * dial back. Until it says true the mapping is not reported; false deletes it
   * (OVL_UPNP_UNVERIFIED) and the attempt is retried after retryMs.
   */
  verify: (external: RemoteAddress, options: { signal: AbortSignal }) => Promise<boolean>
  leaseS?: number
  retryMs?: number
  discoveryTimeoutMs?: number
  requestTimeoutMs?: number
}

export interface UpnpMapperEvents {
  /** Mapped and verified: advertise `mapping.external`. */
  mapped: [mapping: UpnpMapping]
  /** The lease was renewed. */
  renewed: [mapping: UpnpMapping]
  /** A mapping that was reported is gone (renewal failed, or the gateway's external address changed): stop advertising it. */
  lost: [mapping: UpnpMapping, error: NatError]
  /** An attempt failed (no gateway, refused, port taken, unverified); retried after retryMs. */
  failed: [error: NatError]
}

type State = 'new' | 'running' | 'stopped'

export class UpnpMapper extends EventEmitter<UpnpMapperEvents> {
  readonly #init: UpnpMapperInit
  readonly #leaseS: number
  readonly #retryMs: number
  readonly #stopping = new AbortController()
  #state: State = 'new'
  #igd: Igd | null = null
  #mapping: UpnpMapping | null = null
  #timer: NodeJS.Timeout | undefined
  #busy: Promise<void> = Promise.resolve()
  #stopped: Promise<void> | null = null

  constructor(init: UpnpMapperInit) {
    super()
    this.#init = init
    this.#leaseS = Math.max(1, Math.round(init.leaseS ?? UPNP_DEFAULT_LEASE_S))
    this.#retryMs = init.retryMs ?? UPNP_DEFAULT_RETRY_MS
  }

  /** The verified mapping, or null. */
  get mapping(): UpnpMapping | null {
    return this.#mapping
  }

  /** Starts the first attempt now. Idempotent; after stop() it does nothing. */
  start(): void {
    if (this.#state !== 'new') return
    this.#state = 'running'
    this.#schedule(0, () => this.#attempt())
  }

  /** Clears every timer, deletes the mapping on the gateway (waiting at most UPNP_STOP_TIMEOUT_MS), closes the SSDP sockets. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#state = 'stopped'
    clearTimeout(this.#timer)
    this.#stopping.abort(new NatError('OVL_ABORTED', 'the UPnP mapper stopped'))
    await withTimeout(this.#busy, UPNP_STOP_TIMEOUT_MS)
    const mapping = this.#mapping
    this.#mapping = null
    if (mapping && this.#igd) await withTimeout(this.#igd.deleteMapping(mapping.external.port), UPNP_STOP_TIMEOUT_MS).catch(() => {})
    this.#closeGateway()
  }

  #schedule(delayMs: number, task: () => Promise<void>): void {
    if (this.#state !== 'running') return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#busy = task().catch(() => {})
    }, delayMs)
    // A long wait must not keep the process alive; the first attempt may.
    if (delayMs > 0) this.#timer.unref()
  }

  async #attempt(): Promise<void> {
    let mapped: UpnpMapping | null = null
    try {
      const igd = (this.#igd ??= await Igd.discover({ timeoutMs: this.#init.discoveryTimeoutMs ?? UPNP_DISCOVERY_TIMEOUT_MS, requestTimeoutMs: this.#requestTimeoutMs }))
      this.#checkRunning()
      const externalIp = await igd.externalIp()
      if (isNonPublicIPv4(externalIp)) throw new NatError('OVL_UPNP_EXTERNAL_PRIVATE', `the UPnP gateway's external address ${externalIp} is not public: another NAT is in front of it`)
      this.#checkRunning()
      const internal = { host: this.#init.internalHost ?? igd.localAddress, port: this.#init.localPort }
      const externalPort = await mapFreePort(igd, internal, this.#leaseS)
      mapped = { external: { host: externalIp, port: externalPort }, internal, leaseS: this.#leaseS, gateway: igd.location }
      this.#checkRunning()
      const works = await this.#init.verify(mapped.external, { signal: this.#stopping.signal }).catch(() => false)
      this.#checkRunning()
      if (!works) throw new NatError('OVL_UPNP_UNVERIFIED', `nothing came through the UPnP mapping ${externalIp}:${externalPort}; not advertised`)
    } catch (err) {
      if (mapped && this.#igd) await this.#igd.deleteMapping(mapped.external.port).catch(() => {})
      this.#closeGateway()
      if (this.#state !== 'running') return
      this.emit('failed', asNatError(err))
      return this.#schedule(this.#retryMs, () => this.#attempt())
    }
    this.#mapping = mapped
    this.emit('mapped', mapped)
    this.#schedule(this.#renewDelayMs, () => this.#renew())
  }

  async #renew(): Promise<void> {
    const mapping = this.#mapping
    const igd = this.#igd
    if (!mapping || !igd) return
    try {
      const externalIp = await igd.externalIp()
      if (externalIp !== mapping.external.host) throw new NatError('OVL_UPNP_LOST', `the UPnP gateway's external address changed from ${mapping.external.host} to ${externalIp}`)
      await igd.addMapping({ externalPort: mapping.external.port, internalHost: mapping.internal.host, internalPort: mapping.internal.port, leaseS: this.#leaseS })
    } catch (err) {
      if (this.#state !== 'running') return
      this.#mapping = null
      this.#closeGateway()
      const cause = asNatError(err)
      this.emit('lost', mapping, cause.code === 'OVL_UPNP_LOST' ? cause : new NatError('OVL_UPNP_LOST', `the UPnP mapping ${mapping.external.host}:${mapping.external.port} could not be renewed: ${cause.message}`, { cause }))
      // The gateway may have restarted: look for it again at once.
      return this.#schedule(0, () => this.#attempt())
    }
    if (this.#state !== 'running') return
    this.emit('renewed', mapping)
    this.#schedule(this.#renewDelayMs, () => this.#renew())
  }

  get #renewDelayMs(): number {
    return Math.max(500, this.#leaseS * 1000 * UPNP_RENEW_AT)
  }

  get #requestTimeoutMs(): number {
    return this.#init.requestTimeoutMs ?? UPNP_REQUEST_TIMEOUT_MS
  }

  #checkRunning(): void {
    if (this.#state !== 'running') throw new NatError('OVL_ABORTED', 'the UPnP mapper stopped')
  }

  #closeGateway(): void {
    this.#igd?.close()
    this.#igd = null
  }
}

function asNatError(err: unknown): NatError {
  if (err instanceof NatError) return err
  if (err instanceof OverlayError) return new NatError(err.code, err.message, { cause: err })
  return new NatError('OVL_UPNP_REQUEST_FAILED', String(err), { cause: err })
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))])
  } finally {
    clearTimeout(timer)
  }
}
