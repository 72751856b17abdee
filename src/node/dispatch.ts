/**
 * Hands each message from a session to the service that owns its type. The
 * switch is exhaustive: a new message type that nobody handles is a compile
 * error, not a silent drop.
 */
import type { Broadcaster } from '../messaging/broadcast.js'
import type { DirectMessenger } from '../messaging/direct.js'
import type { Liveness } from '../messaging/liveness.js'
import { assertNever, MessageType, RelayOp, type Message } from '../messaging/messages.js'
import type { DialBack } from '../nat/dial-back.js'
import type { HolePuncher } from '../nat/hole-puncher.js'
import type { RelayClient } from '../nat/relay-client.js'
import type { RelayServer } from '../nat/relay-server.js'
import type { Connector } from './connector.js'
import type { NatMonitor } from './nat-monitor.js'
import type { Discovery } from '../discovery/discovery.js'
import type { Session } from '../session/session.js'

export interface Services {
  liveness: Liveness
  direct: DirectMessenger
  broadcast: Broadcaster
  discovery: Discovery
  puncher: HolePuncher
  relayServer: RelayServer
  relayClient: RelayClient
  connector: Connector
  dialBack: DialBack
  nat: NatMonitor
}

export function dispatch(services: Services, session: Session<Message>, message: Message): void {
  switch (message.type) {
    case MessageType.Hello:
      return services.discovery.onHello(session, message)
    case MessageType.Ping:
      return services.liveness.onPing(session, message)
    case MessageType.Pong:
      return services.liveness.onPong(session, message)
    case MessageType.Chat:
      return services.direct.onChat(session, message)
    case MessageType.Ack:
      return services.direct.onAck(session, message)
    case MessageType.Join:
      return services.discovery.onJoin(session, message)
    case MessageType.Peers:
      return services.discovery.onPeers(session, message)
    case MessageType.Leave:
      return services.discovery.onLeave(session, message)
    case MessageType.Broadcast:
      return services.broadcast.onMessage(session, message)
    case MessageType.Routed:
      return services.direct.onRouted(session, message)
    case MessageType.DialBack:
      return services.dialBack.onRequest(session, message)
    case MessageType.Relay:
      // PREPARE and JOIN are asked of the relay; the rest answer an end.
      if (message.op === RelayOp.Prepare || message.op === RelayOp.Join) return services.relayServer.onMessage(session, message)
      return services.relayClient.onMessage(session, message)
    default:
      return assertNever(message)
  }
}
