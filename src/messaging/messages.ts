/**
 * The overlay's messages: a discriminated union on `type`. Wire type numbers
 * start at 0x10 (below that are the session layer's own frames). The names
 * keep those of the programs this grew from (HELLO, PING/PONG, CHAT,
 * METRIC_WARNING, JOIN, PEERS, LEAVE). docs/protocol.md documents each body.
 */

export enum MessageType {
  Ping = 0x11,
  Pong = 0x12,
  Chat = 0x13,
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

/** Text to the peer at the other end of this session. */
export interface ChatMessage {
  type: MessageType.Chat
  text: string
}

export type Message = PingMessage | PongMessage | ChatMessage

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`)
}
