/** Message bodies to bytes and back; one case per message type, exhaustive both ways. */
import { MAX_RECORDS_PER_EXCHANGE } from '../constants.js'
import { ProtocolError } from '../errors.js'
import { nodeIdFromPublicKey, publicKeyFromNodeId } from '../identity/node-id.js'
import type { MessageCodec } from '../session/session.js'
import { BinaryReader, BinaryWriter } from '../util/binary.js'
import { hasControlCharacters } from '../util/printable.js'
import { AckStatus, assertNever, BroadcastKind, MessageType, RelayOp, RoutedKind, type Message, type RelayMessage } from './messages.js'
import { parseAddress, readRecord, writeRecord } from './peer-record.js'

const ROUTED_ID_BYTES = 8

export function encodeMessage(message: Message): { type: number; body: Buffer } {
  const w = new BinaryWriter()
  const type = writeMessage(w, message)
  return { type, body: w.finish() }
}

/** Writes the message's body into `w` (a session writes it straight into its batch of frames); returns its type. */
export function writeMessage(w: BinaryWriter, message: Message): number {
  switch (message.type) {
    case MessageType.Hello:
      writeRecord(w, message.record)
      w.string(message.observed)
      break
    case MessageType.Ping:
    case MessageType.Pong:
      w.u32(message.seq)
      break
    case MessageType.Chat:
      w.u32(message.id).string(message.text)
      break
    case MessageType.Ack:
      w.u32(message.id).u8(message.status)
      break
    case MessageType.Join:
      w.u8(message.want)
      break
    case MessageType.Peers:
      if (message.records.length > MAX_RECORDS_PER_EXCHANGE) throw new RangeError(`at most ${MAX_RECORDS_PER_EXCHANGE} records per PEERS`)
      w.u8(message.records.length)
      for (const record of message.records) writeRecord(w, record)
      break
    case MessageType.Leave:
      w.string(message.reason)
      break
    case MessageType.Broadcast:
      w.fixed(publicKeyFromNodeId(message.origin)).u64(message.seq).u8(message.hopLimit).u8(message.kind).bytes16(message.payload).fixed(message.signature)
      break
    case MessageType.Routed:
      w.fixed(publicKeyFromNodeId(message.origin))
        .fixed(publicKeyFromNodeId(message.target))
        .fixed(Buffer.from(message.id, 'hex'))
        .u8(message.hopLimit)
        .u8(message.kind)
        .bytes16(message.payload)
        .fixed(message.signature)
      break
    case MessageType.Relay:
      writeRelay(w, message)
      break
    case MessageType.DialBack:
      w.fixed(Buffer.from(message.nonce, 'hex')).string(message.address)
      break
    default:
      return assertNever(message)
  }
  return message.type
}

const TOKEN_BYTES = 16

function writeRelay(w: BinaryWriter, m: RelayMessage): void {
  w.u8(m.op).fixed(Buffer.from(m.token, 'hex'))
  switch (m.op) {
    case RelayOp.Prepare:
      w.fixed(publicKeyFromNodeId(m.target))
      break
    case RelayOp.Allocated:
      w.u32(m.initiatorStreamId).u32(m.targetStreamId)
      break
    case RelayOp.Join:
      w.u32(m.streamId)
      break
    case RelayOp.Ready:
      break
    case RelayOp.Refused:
      w.string(m.reason)
      break
    default:
      assertNever(m)
  }
}

function readRelay(r: BinaryReader): RelayMessage {
  const op = oneOf(RelayOp, r.u8('relay op'), 'relay op')
  const token = r.fixed(TOKEN_BYTES, 'relay token').toString('hex')
  const type = MessageType.Relay
  switch (op) {
    case RelayOp.Prepare:
      return { type, op, token, target: nodeIdFromPublicKey(r.fixed(32, 'relay target')) }
    case RelayOp.Allocated:
      return { type, op, token, initiatorStreamId: nonZero(r.u32('stream id')), targetStreamId: nonZero(r.u32('stream id')) }
    case RelayOp.Join:
      return { type, op, token, streamId: nonZero(r.u32('stream id')) }
    case RelayOp.Ready:
      return { type, op, token }
    case RelayOp.Refused:
      return { type, op, token, reason: readReason(r) }
    default:
      return assertNever(op)
  }
}

function nonZero(streamId: number): number {
  if (streamId === 0) throw new ProtocolError('OVL_FRAME_MALFORMED', 'stream id 0')
  return streamId
}

function oneOf<E extends Record<string, string | number>>(values: E, value: number, what: string): E[keyof E] {
  if (!(value in values) || typeof values[value as unknown as keyof E] !== 'string') {
    throw new ProtocolError('OVL_FRAME_MALFORMED', `${what} ${value} is unknown`)
  }
  return value as E[keyof E]
}

export function decodeMessage(type: number, body: Buffer): Message {
  const r = new BinaryReader(body)
  let message: Message
  switch (type as MessageType) {
    case MessageType.Hello: {
      const record = readRecord(r)
      const observed = r.string('observed address')
      if (parseAddress(observed) === null) throw new ProtocolError('OVL_FRAME_MALFORMED', 'observed address is not IPv4 host:port')
      message = { type: MessageType.Hello, record, observed }
      break
    }
    case MessageType.Ping:
      message = { type: MessageType.Ping, seq: r.u32('seq') }
      break
    case MessageType.Pong:
      message = { type: MessageType.Pong, seq: r.u32('seq') }
      break
    case MessageType.Chat:
      message = { type: MessageType.Chat, id: r.u32('id'), text: r.string('text') }
      break
    case MessageType.Ack:
      message = { type: MessageType.Ack, id: r.u32('id'), status: oneOf(AckStatus, r.u8('status'), 'ack status') }
      break
    case MessageType.Join:
      message = { type: MessageType.Join, want: r.u8('want') }
      break
    case MessageType.Peers: {
      const count = r.u8('record count')
      if (count > MAX_RECORDS_PER_EXCHANGE) throw new ProtocolError('OVL_FRAME_MALFORMED', `PEERS carries ${count} records (at most ${MAX_RECORDS_PER_EXCHANGE})`)
      const records = Array.from({ length: count }, () => readRecord(r))
      message = { type: MessageType.Peers, records }
      break
    }
    case MessageType.Leave:
      message = { type: MessageType.Leave, reason: readReason(r) }
      break
    case MessageType.Broadcast:
      message = {
        type: MessageType.Broadcast,
        origin: nodeIdFromPublicKey(r.fixed(32, 'origin')),
        seq: r.u64('seq'),
        hopLimit: r.u8('hop limit'),
        kind: oneOf(BroadcastKind, r.u8('kind'), 'broadcast kind'),
        payload: Buffer.from(r.bytes16('payload')),
        signature: Buffer.from(r.fixed(64, 'signature')),
      }
      break
    case MessageType.Routed:
      message = {
        type: MessageType.Routed,
        origin: nodeIdFromPublicKey(r.fixed(32, 'origin')),
        target: nodeIdFromPublicKey(r.fixed(32, 'target')),
        id: r.fixed(ROUTED_ID_BYTES, 'id').toString('hex'),
        hopLimit: r.u8('hop limit'),
        kind: oneOf(RoutedKind, r.u8('kind'), 'routed kind'),
        payload: Buffer.from(r.bytes16('payload')),
        signature: Buffer.from(r.fixed(64, 'signature')),
      }
      break
    case MessageType.Relay:
      message = readRelay(r)
      break
    case MessageType.DialBack: {
      const nonce = r.fixed(TOKEN_BYTES, 'nonce').toString('hex')
      const address = r.string('address')
      if (parseAddress(address) === null) throw new ProtocolError('OVL_FRAME_MALFORMED', 'dial-back address is not IPv4 host:port')
      message = { type: MessageType.DialBack, nonce, address }
      break
    }
    default:
      throw new ProtocolError('OVL_MESSAGE_UNKNOWN_TYPE', `unknown message type 0x${type.toString(16)}`)
  }
  r.end(MessageType[message.type])
  return message
}

export const messageCodec: MessageCodec<Message> = { write: writeMessage, decode: decodeMessage }

/** A reason a peer gives (LEAVE, a relay's REFUSED) is logged and printed: one short line. */
const MAX_REASON_CHARS = 512

function readReason(r: BinaryReader): string {
  const reason = r.string('reason')
  if (reason.length > MAX_REASON_CHARS) throw new ProtocolError('OVL_FRAME_MALFORMED', `a reason of ${reason.length} characters (at most ${MAX_REASON_CHARS})`)
  if (hasControlCharacters(reason)) throw new ProtocolError('OVL_FRAME_MALFORMED', 'a reason holding control characters')
  return reason
}
