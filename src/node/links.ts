/**
 * How each session reaches its peer: the socket and UDX stream under it,
 * where the peer's packets come from now, and the kind of path (direct,
 * punched, UPnP, relayed through whom). A session on a direct or punched path
 * follows its peer when the peer's NAT mapping changes (a NAT reboot): once
 * the peer has answered a path challenge at its new address (path-probes.ts),
 * the stream moves there.
 */
import type { UDXStream } from 'udx-native'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import type { Message } from '../messaging/messages.js'
import type { Session } from '../session/session.js'
import type { Connection, PathKind, RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'

type OverlaySession = Session<Message>

export interface Link {
  kind: PathKind
  /** The relay, for relayed sessions. */
  via: NodeId | null
  socket: UdpSocket
  stream: UDXStream
  remote: RemoteAddress
}

export class Links {
  readonly #links = new WeakMap<OverlaySession, Link>()
  readonly #log: Logger

  constructor(log: Logger) {
    this.#log = log
  }

  record(session: OverlaySession, connection: Connection): Link {
    const link: Link = { kind: connection.path.kind, via: connection.path.via as NodeId | null, socket: connection.socket, stream: connection.stream, remote: { ...connection.remote } }
    this.#links.set(session, link)
    return link
  }

  get(session: OverlaySession): Link | undefined {
    return this.#links.get(session)
  }

  /** Where the session's peer is reached now. */
  remoteOf(session: OverlaySession): RemoteAddress {
    return this.#links.get(session)?.remote ?? session.remote
  }

  isRelayed(session: OverlaySession): boolean {
    return this.#links.get(session)?.kind === 'relayed'
  }

  /** Moves the session's stream to the peer's new address; resolves true once UDX has. */
  async follow(session: OverlaySession, to: RemoteAddress): Promise<boolean> {
    const link = this.#links.get(session)
    if (link === undefined || link.kind === 'relayed' || !link.stream.connected) return false
    if (link.remote.host === to.host && link.remote.port === to.port) return false
    const previous = link.remote
    const from = `${previous.host}:${previous.port}`
    link.remote = { ...to } // set first: a second probe from the new address does not start a second move
    try {
      await link.stream.changeRemote(link.socket.raw, link.stream.remoteId, to.port, to.host)
    } catch (err) {
      link.remote = previous // the stream still talks to the old address; the next probe from the new one tries again
      this.#log.warn({ peer: session.peerId.slice(0, 10), err: (err as Error).message }, 'could not follow the peer to its new address')
      return false
    }
    this.#log.info({ peer: session.peerId.slice(0, 10), from, to: `${to.host}:${to.port}` }, 'peer moved (its NAT mapping changed): the session follows')
    return true
  }
}
