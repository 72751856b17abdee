/** Message bodies to bytes and back; one case per message type, exhaustive both ways. */
import { ProtocolError } from '../errors.js'
import type { MessageCodec } from '../session/session.js'
import { BinaryReader, BinaryWriter } from './binary.js'
import { assertNever, MessageType, type Message } from './messages.js'

export function encodeMessage(message: Message): { type: number; body: Buffer } {
  const w = new BinaryWriter()
  switch (message.type) {
    case MessageType.Ping:
    case MessageType.Pong:
      w.u32(message.seq)
      break
    case MessageType.Chat:
      w.string(message.text)
      break
    default:
      return assertNever(message)
  }
  return { type: message.type, body: w.finish() }
}

export function decodeMessage(type: number, body: Buffer): Message {
  const r = new BinaryReader(body)
  let message: Message
  switch (type as MessageType) {
    case MessageType.Ping:
      message = { type: MessageType.Ping, seq: r.u32('seq') }
      break
    case MessageType.Pong:
      message = { type: MessageType.Pong, seq: r.u32('seq') }
      break
    case MessageType.Chat:
      message = { type: MessageType.Chat, text: r.string('text') }
      break
    default:
      throw new ProtocolError('OVL_MESSAGE_UNKNOWN_TYPE', `unknown message type 0x${type.toString(16)}`)
  }
  r.end(MessageType[message.type])
  return message
}

export const messageCodec: MessageCodec<Message> = { encode: encodeMessage, decode: decodeMessage }
