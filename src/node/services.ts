/**
 * Builds the services a node runs on top of its sessions and wires their
 * events into the node's: liveness, direct messages, broadcast, discovery,
 * hole punching, relaying (both the relay's side and an end's), and the
 * connector that picks among direct, punched and relayed paths.
 */
import { Discovery } from '../discovery/discovery.js'
import type { PeerStore } from '../discovery/peer-store.js'
import type { SelfRecord } from '../discovery/self-record.js'
import type { Identity } from '../identity/identity.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import { Broadcaster } from '../messaging/broadcast.js'
import { DirectMessenger } from '../messaging/direct.js'
import { Liveness } from '../messaging/liveness.js'
import { BroadcastKind, type Message } from '../messaging/messages.js'
import { DialBack } from '../nat/dial-back.js'
import { HolePuncher } from '../nat/hole-puncher.js'
import { RelayClient } from '../nat/relay-client.js'
import { RelayServer } from '../nat/relay-server.js'
import { decodeSignal, SignalType } from '../nat/signals.js'
import type { PathProbes } from '../session/path-probes.js'
import type { Session } from '../session/session.js'
import type { Connection, ConnectionPath, RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import { Connector } from './connector.js'
import { NatMonitor } from './nat-monitor.js'
import type { HeartbeatSettings, MessagingSettings, NodeLimits, PeerSettings, RelaySettings } from './defaults.js'
import type { Services } from './dispatch.js'
import type { Links } from './links.js'
import type { OverlayNodeEvents } from './node.js'
import type { SessionRegistry } from './session-registry.js'

type OverlaySession = Session<Message>

/** What the services need of the node that runs them. */
export interface NodeCore {
  identity: Identity
  log: Logger
  limits: Readonly<NodeLimits>
  heartbeat: Readonly<HeartbeatSettings>
  peers: Readonly<PeerSettings>
  messaging: Readonly<MessagingSettings>
  relay: Readonly<RelaySettings>
  bootstrap: RemoteAddress[]
  stun: RemoteAddress[]
  upnp: boolean
  socket: UdpSocket
  host(): string
  port(): number
  store: PeerStore
  self: SelfRecord
  sessions: SessionRegistry<Message>
  links: Links
  probes: PathProbes<OverlaySession>
  emit<E extends keyof OverlayNodeEvents>(event: E, ...args: OverlayNodeEvents[E]): void
  dial(addresses: RemoteAddress[], options: { timeoutMs: number; path?: ConnectionPath }): Promise<OverlaySession>
  dialOn(socket: UdpSocket, address: RemoteAddress, path: ConnectionPath): Promise<OverlaySession>
  handshake(connection: Connection): Promise<OverlaySession>
  sessionWith(peer: NodeId, ms: number): Promise<OverlaySession>
  adoptSocket(socket: UdpSocket): void
  announce(session: OverlaySession): void
}

export function createServices(core: NodeCore): Services {
  const sessions = { get: (id: NodeId) => core.sessions.get(id), all: () => core.sessions.values() }
  const { log } = core

  // Heartbeats: path probes on direct paths; PINGs on the stream through a relay (the relay does not forward probes).
  const liveness = new Liveness(core.heartbeat, (session, seq) => {
    if (core.links.isRelayed(session)) liveness.streamPing(session, seq)
    else core.probes.ping(session, seq)
  })
  core.probes.on('heard', (session) => liveness.heard(session))
  core.probes.on('pong', (session, seq) => liveness.onProbePong(session, seq))
  core.probes.on('moved', (session, to) => {
    void core.links.follow(session, to).then((moved) => moved && core.probes.retarget(session, to))
  })
  core.probes.on('dropped', (reason, from) => core.emit('input:rejected', reason, from))
  liveness.on('down', (peer, error) => core.emit('heartbeat:down', peer, error))
  liveness.on('missed', (peer) => core.emit('heartbeat:missed', peer))
  liveness.on('rtt', (peer, rtt) => core.emit('heartbeat:rtt', peer, rtt))

  const direct = new DirectMessenger({
    identity: core.identity,
    sessions,
    hopLimit: core.messaging.hopLimit,
    timeoutMs: core.messaging.deliveryTimeoutMs,
    deliveriesPerSecond: core.limits.deliveriesPerSecond,
  })
  direct.on('chat', (chat) => {
    core.store.seen(chat.from)
    // A literal, not a spread: on the per-message path the spread cost ~1 us a message.
    core.emit('chat', { from: chat.from, text: chat.text, via: chat.via, hops: chat.hops, broadcast: false })
  })
  direct.on('dropped', (reason, from) => core.emit('input:rejected', reason, from))

  const broadcast = new Broadcaster({ identity: core.identity, sessions: () => core.sessions.values(), hopLimit: core.messaging.hopLimit })
  broadcast.on('delivered', (delivery) => {
    direct.learn(delivery.origin, delivery.via)
    core.store.seen(delivery.origin)
    core.emit('broadcast', delivery)
    if (delivery.kind === BroadcastKind.Chat) {
      core.emit('chat', { from: delivery.origin, text: delivery.payload.toString('utf8'), via: 'routed', hops: delivery.hops, broadcast: true })
    }
  })
  broadcast.on('dropped', (reason, from) => {
    if (reason !== 'broadcast-duplicate' && reason !== 'broadcast-own') core.emit('input:rejected', reason, from)
  })

  const puncher = new HolePuncher(
    {
      nodeId: core.identity.nodeId,
      socket: core.socket,
      get host() {
        return core.host()
      },
      self: () => ({ nat: core.self.record.nat, candidates: core.self.record.addresses.map((a) => a.address) }),
      signal: (target, payload) => direct.signal(target, payload),
      dialPunched: (socket, address) => core.dialOn(socket, address, { kind: 'punched', via: null }),
      sessionWith: (peer, ms) => core.sessionWith(peer, ms),
      adoptSocket: (socket) => core.adoptSocket(socket),
    },
    log,
  )
  puncher.board.on('dropped', (reason, from) => core.emit('input:rejected', reason, from))
  puncher.on('outcome', (outcome) => core.emit('punch', outcome))

  const relayServer = new RelayServer({
    socket: core.socket,
    limits: core.relay.enabled ? core.relay : { ...core.relay, maxSessions: 0 },
    remoteOf: (session) => core.links.remoteOf(session),
    current: (peer) => core.sessions.get(peer),
    log,
  })
  relayServer.on('opened', (initiator, target) => core.emit('relay', { event: 'opened', initiator, target }))
  relayServer.on('refused', (initiator, reason) => core.emit('relay', { event: 'refused', initiator, target: null, reason }))
  relayServer.on('closed', (initiator, target, reason, bytes) => core.emit('relay', { event: 'closed', initiator, target, reason, bytes }))

  const relayClient = new RelayClient(
    {
      socket: core.socket,
      handshakeTimeoutMs: core.limits.handshakeTimeoutMs,
      sessionWith: (peer) => core.sessions.get(peer),
      remoteOf: (session) => core.links.remoteOf(session),
      streamOf: (session) => core.links.get(session)?.stream,
      connect: (address) => core.dial([address], { timeoutMs: core.limits.dialTimeoutMs }),
      handshake: (connection) => core.handshake(connection),
      signal: (target, payload) => direct.signal(target, payload),
    },
    log,
  )

  direct.on('signal', ({ origin, payload }) => {
    let signal
    try {
      signal = decodeSignal(payload)
    } catch {
      return core.emit('input:rejected', 'signal-malformed', origin)
    }
    switch (signal.type) {
      case SignalType.PunchOffer:
      case SignalType.PunchAnswer:
        return puncher.onSignal(origin, signal)
      case SignalType.RelayInvite:
        return void relayClient.onInvite(origin, signal)
    }
  })

  // isBootstrap is asked only once services run: discovery is made below (it dials through the connector).
  const connector: Connector = new Connector({ core, puncher, relayClient, isBootstrap: (peer, remote): boolean => discovery.isBootstrapPeer(peer, remote) })
  const dialBack = new DialBack(core.socket, puncher.board)
  const nat = new NatMonitor({
    socket: core.socket,
    self: core.self,
    store: core.store,
    log,
    stun: core.stun,
    bootstrap: core.bootstrap,
    upnp: core.upnp,
    relay: core.relay.enabled,
    sessions: () => [...core.sessions.values()],
    remoteOf: (session) => core.links.remoteOf(session),
    dialBack,
    bound: () => ({ host: core.host(), port: core.port() }),
  })
  nat.stun.on('dropped', (reason, from) => core.emit('input:rejected', reason, from))
  nat.on('checked', (report) => core.emit('netcheck', report))
  nat.on('upnp', (external) => core.emit('upnp', external))

  const discovery = new Discovery({
    host: {
      nodeId: core.identity.nodeId,
      sessions: () => [...core.sessions.values()],
      session: (id) => core.sessions.get(id),
      dial: (addresses, options) => core.dial(addresses, { timeoutMs: options.timeoutMs }),
      connectPeer: (id) => connector.connect(id),
    },
    self: core.self,
    store: core.store,
    log,
    bootstrap: core.bootstrap,
    targetPeers: core.peers.target,
    maintainIntervalMs: core.peers.maintainIntervalMs,
    exchangeIntervalMs: core.peers.exchangeIntervalMs,
    cachedDialTimeoutMs: core.peers.cachedDialTimeoutMs,
    dialTimeoutMs: core.limits.dialTimeoutMs,
    backoffBaseMs: core.peers.backoffBaseMs,
    backoffMaxMs: core.peers.backoffMaxMs,
  })
  discovery.on('record', (record) => core.emit('record', record))
  discovery.on('hello', (session) => core.announce(session))
  discovery.on('dropped', (reason, from) => core.emit('input:rejected', reason, from))

  return { liveness, direct, broadcast, discovery, puncher, relayServer, relayClient, connector, dialBack, nat }
}

