/**
 * The overlay's messages: a discriminated union on `type`. Wire type numbers
 * start at 0x10 (below that are the session layer's own frames). The names
 * keep those of the programs this grew from (HELLO, PING/PONG, CHAT,
 * METRIC_WARNING, JOIN, PEERS, LEAVE). docs/protocol.md documents each body.
 */
import type { NodeId } from '../identity/node-id.js'
import type { PeerRecord } from './peer-record.js'

export enum MessageType {
  Hello = 0x10,
  Ping = 0x11,
  Pong = 0x12,
  Chat = 0x13,
  Ack = 0x14,
  Join = 0x15,
  Peers = 0x16,
  Leave = 0x17,
  Broadcast = 0x18,
  Routed = 0x19,
  Relay = 0x1a,
  DialBack = 0x1b,
}

/** The identify exchange, sent by both ends as soon as the session is up. */
export interface HelloMessage {
  type: MessageType.Hello
  /** The sender's own signed record. */
  record: PeerRecord
  /** Where the sender sees the receiver's packets come from ("host:port"): its address as observed from outside. */
  observed: string
}

/** Liveness probe; `seq` pairs it with its PONG. */
export interface PingMessage {
  type: MessageType.Ping
  seq: number
}

export interface PongMessage {
  type: MessageType.Pong
  seq: number
}

/** Text to the peer at the other end of this session; answered by ACK with the same id. */
export interface ChatMessage {
  type: MessageType.Chat
  /** Pairs it with its ACK; 0 asks for no ACK. */
  id: number
  text: string
}

export enum AckStatus {
  Delivered = 0,
  /** The target dropped it: the sender is over its rate limit there. */
  Refused = 1,
}

export interface AckMessage {
  type: MessageType.Ack
  id: number
  status: AckStatus
}

/** "Tell me the peers you know": answered with PEERS. */
export interface JoinMessage {
  type: MessageType.Join
  /** How many records the sender would like (the receiver caps it). */
  want: number
}

/** Signed peer records; the receiver verifies each before it stores or uses it. */
export interface PeersMessage {
  type: MessageType.Peers
  records: PeerRecord[]
}

/** The sender is leaving the network gracefully; the receiver drops it at once. */
export interface LeaveMessage {
  type: MessageType.Leave
  reason: string
}

export enum BroadcastKind {
  Chat = 1,
  /** A metric crossed (or came back under) a threshold at the origin. */
  MetricWarning = 2,
}

/**
 * A network-wide message, signed by its origin. Relays forward it unchanged
 * except for `hopLimit`, which is not signed (it only ever goes down).
 */
export interface BroadcastMessage {
  type: MessageType.Broadcast
  origin: NodeId
  /** Per-origin, strictly increasing (microseconds since the epoch at sending, or more). */
  seq: number
  hopLimit: number
  kind: BroadcastKind
  payload: Buffer
  signature: Buffer
}

export enum RoutedKind {
  Chat = 1,
  /** Asks the target for an ACK and nothing else: a ping through the overlay. */
  Probe = 2,
  Ack = 3,
  /** Coordination between two nodes with no session yet (hole punching, relay invitations): not acknowledged. */
  Signal = 4,
}

/**
 * A message for a node this one may have no session with, forwarded through
 * the overlay. Signed by its origin, like a broadcast; `hopLimit` unsigned.
 */
export interface RoutedMessage {
  type: MessageType.Routed
  origin: NodeId
  target: NodeId
  /** 8 random bytes (hex) per message at its origin; an ACK carries the id of what it answers. */
  id: string
  hopLimit: number
  kind: RoutedKind
  payload: Buffer
  signature: Buffer
}

export enum RelayOp {
  /** Initiator to relay: please relay a session to `target`. */
  Prepare = 1,
  /** Relay to initiator: the two relay streams are ready for both ends to join. */
  Allocated = 2,
  /** Either end to relay: connect your side to my stream. */
  Join = 3,
  /** Relay to both ends: joined; start TLS. */
  Ready = 4,
  /** Relay to either end: no (limits, unknown token, target gone). */
  Refused = 5,
}

/**
 * Setting up a relayed session: between each end and the relay, over their own
 * sessions. The relay forwards UDX packets between its two streams without
 * decrypting them; TLS and the binding stay end to end.
 */
export type RelayMessage =
  | { type: MessageType.Relay; op: RelayOp.Prepare; token: string; target: NodeId }
  | { type: MessageType.Relay; op: RelayOp.Allocated; token: string; initiatorStreamId: number; targetStreamId: number }
  | { type: MessageType.Relay; op: RelayOp.Join; token: string; streamId: number }
  | { type: MessageType.Relay; op: RelayOp.Ready; token: string }
  | { type: MessageType.Relay; op: RelayOp.Refused; token: string; reason: string }

/**
 * "Send a probe to this address of mine": how a node checks that its UPnP port
 * mapping works before it advertises it. The answer is one 20-byte datagram
 * to that address, at most one per DIAL_BACK_INTERVAL_MS per session.
 */
export interface DialBackMessage {
  type: MessageType.DialBack
  nonce: string
  address: string
}

export type Message =
  | DialBackMessage
  | RelayMessage
  | HelloMessage
  | PingMessage
  | PongMessage
  | ChatMessage
  | AckMessage
  | JoinMessage
  | PeersMessage
  | LeaveMessage
  | BroadcastMessage
  | RoutedMessage

export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`)
}
