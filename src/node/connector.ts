/**
 * A session with a known peer by whatever path works, as Tailscale and
 * HyperDHT do it: first a direct dial of the addresses its record advertises
 * (a public node, a UPnP mapping, the same LAN); then a hole punch
 * coordinated through the overlay; then a relay both ends can reach. Each
 * failure is kept, so "unreachable" says why for every way tried. A relayed
 * session keeps trying for a direct path (a dial, else a punch), and gives
 * way to one.
 */
import { OverlayError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Message } from '../messaging/messages.js'
import { AddressKind, NatType, parseAddress, RecordFlags, type PeerRecord } from '../messaging/peer-record.js'
import type { HolePuncher } from '../nat/hole-puncher.js'
import type { RelayClient } from '../nat/relay-client.js'
import type { Session } from '../session/session.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { NodeCore } from './services.js'

type OverlaySession = Session<Message>

/**
 * When a relayed session tries to become direct: soon at first (a direct dial
 * often failed only because the peer was restarting and not yet listening),
 * then every 30 s; 10 tries in all.
 */
const UPGRADE_DELAYS_MS = [2_000, 5_000, 10_000, 30_000]
const UPGRADE_ATTEMPTS = 10
/** Relays tried before giving up. */
const MAX_RELAYS_TRIED = 2

export interface ConnectorInit {
  core: NodeCore
  puncher: HolePuncher
  relayClient: RelayClient
  /** Whether the peer of a session (reached at `remote`) is a bootstrap node (Discovery knows: bootstrap addresses may be host names). */
  isBootstrap: (peer: NodeId, remote: RemoteAddress) => boolean
}

export class Connector {
  readonly #init: ConnectorInit
  readonly #inFlight = new Map<NodeId, Promise<OverlaySession>>()

  constructor(init: ConnectorInit) {
    this.#init = init
  }

  /** Resolves with the session (an existing one, or a new one); rejects OVL_UNREACHABLE with every reason. */
  connect(peer: NodeId): Promise<OverlaySession> {
    const existing = this.#init.core.sessions.get(peer)
    if (existing?.writable) return Promise.resolve(existing)
    let attempt = this.#inFlight.get(peer)
    if (attempt === undefined) {
      attempt = this.#connect(peer).finally(() => this.#inFlight.delete(peer))
      this.#inFlight.set(peer, attempt)
    }
    return attempt
  }

  async #connect(peer: NodeId): Promise<OverlaySession> {
    const { core, puncher } = this.#init
    const record = core.store.get(peer)?.record
    if (record === undefined) throw new OverlayError('OVL_PEER_UNKNOWN', `no record of ${peer.slice(0, 12)}: it has not been heard of`)
    const reasons: string[] = []
    const attempt = async (what: string, run: () => Promise<unknown>): Promise<OverlaySession | null> => {
      try {
        await run()
      } catch (err) {
        reasons.push(`${what}: ${(err as OverlayError).code ?? ''} ${(err as Error).message}`.trim())
      }
      const session = core.sessions.get(peer)
      return session?.writable ? session : null
    }

    const direct = this.#directAddresses(record)
    if (direct.length > 0) {
      const session = await attempt('direct', () => this.#dialDirect(record, direct))
      if (session) return session
    }
    const punched = await attempt('punch', () => puncher.punch(peer, record))
    if (punched) return punched
    for (const relay of this.#relays(peer).slice(0, MAX_RELAYS_TRIED)) {
      const relayed = await attempt(`relay via ${relay.peer.name}`, () => this.#init.relayClient.relay(peer, relay))
      if (relayed) {
        this.#upgradeLater(peer, relayed)
        return relayed
      }
    }
    if (this.#relays(peer).length === 0) reasons.push('relay: no relay-capable peer')
    throw new OverlayError('OVL_UNREACHABLE', `cannot reach ${record.name} (${peer.slice(0, 12)}): ${reasons.join('; ')}`)
  }

  /**
   * The addresses worth a direct dial: all of them, unless the peer says it is
   * behind a NAT that filters; then its port mapping, and its LAN addresses if
   * it is behind the same NAT as this node (the same public address).
   */
  #directAddresses(record: PeerRecord): string[] {
    const filtering = record.nat === NatType.Easy || record.nat === NatType.Hard || record.nat === NatType.Blocked
    if (!filtering) return record.addresses.map((a) => a.address)
    const publicHosts = (addresses: PeerRecord['addresses']): Set<string> =>
      new Set(addresses.filter((a) => a.kind !== AddressKind.Local).map((a) => parseAddress(a.address)?.host ?? ''))
    const ours = publicHosts(this.#init.core.self.record.addresses)
    const sameNat = [...publicHosts(record.addresses)].some((host) => ours.has(host))
    return record.addresses.filter((a) => a.kind === AddressKind.Mapped || (sameNat && a.kind === AddressKind.Local)).map((a) => a.address)
  }

  async #dialDirect(record: PeerRecord, addresses: string[]): Promise<OverlaySession> {
    const { core } = this.#init
    const parsed = addresses.map(parseAddress).filter((a) => a !== null)
    const mapped = new Set(record.addresses.filter((a) => a.kind === AddressKind.Mapped).map((a) => a.address))
    const session = await core.dial(parsed, { timeoutMs: core.peers.cachedDialTimeoutMs })
    // A dial that reached the peer through its gateway's port mapping is a UPnP path.
    const link = core.links.get(session)
    if (link && mapped.has(`${link.remote.host}:${link.remote.port}`)) link.kind = 'upnp'
    return session
  }

  /** Peers that relay: those whose record says so, then bootstrap peers (public by purpose). */
  #relays(target: NodeId): OverlaySession[] {
    const { core } = this.#init
    const ranked: Array<{ session: OverlaySession; rank: number }> = []
    for (const session of core.sessions.values()) {
      if (session.peerId === target || !session.writable || core.links.isRelayed(session)) continue
      const record = core.store.get(session.peerId)?.record
      const remote = core.links.remoteOf(session)
      if (record && (record.flags & RecordFlags.Relay) !== 0) ranked.push({ session, rank: 0 })
      else if (this.#init.isBootstrap(session.peerId, remote)) ranked.push({ session, rank: 1 })
    }
    return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.session)
  }

  /**
   * While a session is relayed, try now and then for a direct path (the
   * registry prefers it): a direct dial when the peer's record offers one,
   * else a punch.
   */
  #upgradeLater(peer: NodeId, relayed: OverlaySession): void {
    const { core, puncher } = this.#init
    let tries = 0
    let timer: NodeJS.Timeout | undefined
    const schedule = (): void => {
      const delay = UPGRADE_DELAYS_MS[Math.min(tries, UPGRADE_DELAYS_MS.length - 1)] as number
      timer = setTimeout(() => void tryOnce(), delay).unref()
    }
    const tryOnce = async (): Promise<void> => {
      const record = core.store.get(peer)?.record
      if (relayed.state === 'closed' || core.sessions.get(peer) !== relayed || ++tries > UPGRADE_ATTEMPTS || record === undefined) return
      const direct = this.#directAddresses(record)
      const dialed = direct.length > 0 && (await this.#dialDirect(record, direct).then(() => true, () => false))
      if (!dialed) await puncher.punch(peer, record).catch(() => {})
      schedule()
    }
    schedule()
    relayed.once('close', () => clearTimeout(timer))
  }
}
