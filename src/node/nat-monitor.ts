/**
 * What a running node knows about its own NAT, kept current: it answers STUN
 * on its socket (so every node is a STUN server for its network), runs a
 * netcheck once it has peers and then now and then (servers: the configured
 * ones, else bootstrap peers and public peers it has sessions with), and maps
 * its port on a UPnP gateway, advertised once a peer's dial-back reached it.
 * The findings go into the node's record: NAT type, the Relay flag for a
 * reachable relay, Reflexive and Mapped candidates.
 */
import { EventEmitter } from 'node:events'
import type { SelfRecord } from '../discovery/self-record.js'
import type { PeerStore } from '../discovery/peer-store.js'
import type { Logger } from '../log/logger.js'
import type { Message } from '../messaging/messages.js'
import { AddressKind, formatAddress, NatType, RecordFlags } from '../messaging/peer-record.js'
import type { DialBack } from '../nat/dial-back.js'
import { localAddresses, netcheck, StunEndpoint, UpnpMapper, type NatBehaviour, type NetcheckReport } from '../nat/index.js'
import type { Session } from '../session/session.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'

type OverlaySession = Session<Message>

/** How often a running node checks its NAT again (a new network, a rebooted router). */
export const NETCHECK_INTERVAL_MS = 5 * 60_000
/** After the first session: a moment for a second one, so two STUN servers can compare mappings. */
const FIRST_CHECK_DELAY_MS = 500
/**
 * After an inconclusive check (one server answered, none to ask yet): the
 * first look again comes soon, since on a lossy link one lost answer is the
 * usual cause; each further one waits twice as long, up to the last value.
 */
const RECHECK_UNKNOWN_MS = [5_000, 10_000, 20_000, 30_000] as const
/** With no session yet: check anyway after this long. */
const START_CHECK_DELAY_MS = 3_000

export interface NatMonitorInit {
  socket: UdpSocket
  self: SelfRecord
  store: PeerStore
  log: Logger
  /** Configured STUN servers (empty: bootstrap and public peers serve). */
  stun: RemoteAddress[]
  bootstrap: RemoteAddress[]
  upnp: boolean
  relay: boolean
  sessions(): OverlaySession[]
  remoteOf(session: OverlaySession): RemoteAddress
  dialBack: DialBack
  bound(): RemoteAddress
}

export interface NatMonitorEvents {
  checked: [report: NetcheckReport]
  /** The UPnP mapping now advertised (null: none any more). */
  upnp: [external: RemoteAddress | null]
}

const NAT_TYPES: Record<NatBehaviour, NatType> = {
  open: NatType.Open,
  easy: NatType.Easy,
  hard: NatType.Hard,
  blocked: NatType.Blocked,
  unknown: NatType.Unknown,
}

export class NatMonitor extends EventEmitter<NatMonitorEvents> {
  readonly stun: StunEndpoint
  readonly #init: NatMonitorInit
  #upnp: UpnpMapper | null = null
  #timer: NodeJS.Timeout | null = null
  #checking: Promise<void> | null = null
  #stopped = false
  #last: NetcheckReport | null = null
  /** Inconclusive checks in a row. */
  #inconclusive = 0

  constructor(init: NatMonitorInit) {
    super()
    this.#init = init
    this.stun = new StunEndpoint({ socket: init.socket })
  }

  get last(): NetcheckReport | null {
    return this.#last
  }

  /** Checks a little after start even with no session, so a node that cannot reach anyone learns why (UDP blocked). */
  start(): void {
    this.#schedule(START_CHECK_DELAY_MS)
  }

  /** The first session is up: check soon, and start UPnP (its dial-back needs a peer). */
  onSessionUp(): void {
    if (this.#stopped) return
    if (this.#last === null && this.#checking === null) this.#schedule(FIRST_CHECK_DELAY_MS)
    // A node bound to loopback has no gateway to ask (and must not multicast on the LAN).
    if (this.#init.upnp && this.#upnp === null && !this.#init.bound().host.startsWith('127.')) this.#startUpnp()
  }

  /** Runs a netcheck now (the `netcheck` of a running node). */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => (this.#checking = null))
    return this.#checking
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.stun.close()
    await this.#upnp?.stop()
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = null
      // Unknown (one server answered, or none to ask yet): look again soon, with the peers found meanwhile.
      void this.check().finally(() => !this.#stopped && this.#schedule(this.#nextCheckMs()))
    }, ms).unref()
  }

  #nextCheckMs(): number {
    if (this.#last !== null && this.#last.behaviour !== 'unknown') {
      this.#inconclusive = 0
      return NETCHECK_INTERVAL_MS
    }
    const delay = RECHECK_UNKNOWN_MS[Math.min(this.#inconclusive, RECHECK_UNKNOWN_MS.length - 1)] as number
    this.#inconclusive++
    return delay
  }

  /** STUN servers: configured ones; else bootstrap peers and the public peers this node has sessions with. */
  servers(): RemoteAddress[] {
    if (this.#init.stun.length > 0) return this.#init.stun
    const servers = new Map<string, RemoteAddress>()
    for (const b of this.#init.bootstrap) servers.set(formatAddress(b), b)
    for (const session of this.#init.sessions()) {
      if (this.#init.store.get(session.peerId)?.record.nat !== NatType.Open) continue
      const remote = this.#init.remoteOf(session)
      servers.set(formatAddress(remote), remote)
    }
    return [...servers.values()]
  }

  async #check(): Promise<void> {
    const servers = this.servers()
    if (servers.length === 0) return
    let report: NetcheckReport
    try {
      report = await netcheck({ stun: this.stun, servers, local: localAddresses(this.#init.bound()) })
    } catch (err) {
      this.#init.log.warn({ code: (err as { code?: string }).code }, `netcheck failed: ${(err as Error).message}`)
      return
    }
    if (this.#stopped) return
    this.#last = report
    const nat = NAT_TYPES[report.behaviour]
    // Reachable nodes relay for others; the mapping they show is their own address.
    this.#init.self.setNat(nat, this.#init.relay && nat === NatType.Open ? RecordFlags.Relay : 0)
    this.#init.self.setCandidates(AddressKind.Reflexive, report.reflexive && nat !== NatType.Open ? [formatAddress(report.reflexive)] : [])
    this.#init.log.info({ nat: report.behaviour, reflexive: report.reflexive ? formatAddress(report.reflexive) : null, servers: report.servers.length, reason: report.reason }, 'netcheck')
    this.emit('checked', report)
  }

  #startUpnp(): void {
    const bound = this.#init.bound()
    const mapper = new UpnpMapper({
      localPort: bound.port,
      ...(bound.host !== '0.0.0.0' ? { internalHost: bound.host } : {}),
      retryMs: 60_000,
      verify: async (external) => {
        // Any peer outside can dial back; public ones first.
        const helpers = this.#init.sessions().sort((a, b) => Number(this.#init.store.get(b.peerId)?.record.nat === NatType.Open) - Number(this.#init.store.get(a.peerId)?.record.nat === NatType.Open))
        for (const helper of helpers.slice(0, 2)) if (await this.#init.dialBack.verify(external, helper)) return true
        return false
      },
    })
    mapper.on('mapped', (mapping) => {
      this.#init.self.setCandidates(AddressKind.Mapped, [formatAddress(mapping.external)])
      this.emit('upnp', mapping.external)
      this.#init.log.info({ external: formatAddress(mapping.external), gateway: mapping.gateway }, 'UPnP: port mapped and seen to work')
    })
    mapper.on('lost', (mapping, error) => {
      this.#init.self.setCandidates(AddressKind.Mapped, [])
      this.emit('upnp', null)
      this.#init.log.warn({ external: formatAddress(mapping.external), code: error.code }, `UPnP: mapping lost: ${error.message}`)
    })
    mapper.on('failed', (error) => this.#init.log.debug({ code: error.code }, `UPnP: ${error.message}`))
    this.#upnp = mapper
    mapper.start()
  }
}

