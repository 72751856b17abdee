/**
 * SIGNAL payloads: how two nodes with no session agree to punch a path or to
 * meet at a relay. They travel as ROUTED messages through the overlay, signed
 * by their origin (src/messaging/signed.ts), so nobody on the way can forge
 * or alter them; anything a relay learns from one (candidates, a nonce) only
 * lets it make the two ends try a path that must still authenticate.
 *
 *   PUNCH_OFFER / PUNCH_ANSWER: nonce (16) | nat (u8) | flags (u8) | count (u8) | addresses (u16 + "host:port")
 *   RELAY_INVITE:               token (16) | relay node key (32) | relay address (u16 + "host:port") | relay stream id (u32)
 */
import { ProtocolError } from '../errors.js'
import { nodeIdFromPublicKey, publicKeyFromNodeId, type NodeId } from '../identity/node-id.js'
import { BinaryReader, BinaryWriter } from '../util/binary.js'
import { MAX_RECORD_ADDRESSES, NatType, parseAddress } from '../messaging/peer-record.js'

export enum SignalType {
  PunchOffer = 1,
  PunchAnswer = 2,
  RelayInvite = 3,
}

/** Bit flags in a punch offer or answer. */
export const PunchFlags = {
  /** The sender will open a pool of sockets (it is behind a hard NAT facing an easy one). */
  Birthday: 1,
} as const

export interface PunchSignal {
  type: SignalType.PunchOffer | SignalType.PunchAnswer
  /** 16 random bytes (hex) naming this attempt; every probe carries it. */
  nonce: string
  nat: NatType
  flags: number
  /** Where the sender can be reached, best first ("host:port"). */
  candidates: string[]
}

export interface RelayInviteSignal {
  type: SignalType.RelayInvite
  token: string
  relay: NodeId
  relayAddress: string
  /** The relay's stream the invited node connects to. */
  streamId: number
}

export type Signal = PunchSignal | RelayInviteSignal

const NONCE_BYTES = 16

export function encodeSignal(signal: Signal): Buffer {
  const w = new BinaryWriter(128).u8(signal.type)
  switch (signal.type) {
    case SignalType.PunchOffer:
    case SignalType.PunchAnswer: {
      const candidates = signal.candidates.slice(0, MAX_RECORD_ADDRESSES)
      w.fixed(Buffer.from(signal.nonce, 'hex')).u8(signal.nat).u8(signal.flags).u8(candidates.length)
      for (const candidate of candidates) w.string(candidate)
      break
    }
    case SignalType.RelayInvite:
      w.fixed(Buffer.from(signal.token, 'hex')).fixed(publicKeyFromNodeId(signal.relay)).string(signal.relayAddress).u32(signal.streamId)
      break
  }
  return w.finish()
}

export function decodeSignal(payload: Buffer): Signal {
  const r = new BinaryReader(payload)
  const type = r.u8('signal type')
  let signal: Signal
  switch (type) {
    case SignalType.PunchOffer:
    case SignalType.PunchAnswer: {
      const nonce = r.fixed(NONCE_BYTES, 'nonce').toString('hex')
      const nat = r.u8('nat type')
      if (!(nat in NatType)) throw new ProtocolError('OVL_FRAME_MALFORMED', `nat type ${nat} is unknown`)
      const flags = r.u8('flags')
      const count = r.u8('candidate count')
      if (count > MAX_RECORD_ADDRESSES) throw new ProtocolError('OVL_FRAME_MALFORMED', `${count} candidates (at most ${MAX_RECORD_ADDRESSES})`)
      const candidates = Array.from({ length: count }, () => address(r.string('candidate')))
      signal = { type, nonce, nat, flags, candidates }
      break
    }
    case SignalType.RelayInvite:
      signal = {
        type,
        token: r.fixed(NONCE_BYTES, 'token').toString('hex'),
        relay: nodeIdFromPublicKey(r.fixed(32, 'relay')),
        relayAddress: address(r.string('relay address')),
        streamId: r.u32('stream id'),
      }
      if (signal.streamId === 0) throw new ProtocolError('OVL_FRAME_MALFORMED', 'stream id 0')
      break
    default:
      throw new ProtocolError('OVL_FRAME_MALFORMED', `signal type ${type} is unknown`)
  }
  r.end('signal')
  return signal
}

function address(text: string): string {
  if (parseAddress(text) === null) throw new ProtocolError('OVL_FRAME_MALFORMED', 'not IPv4 host:port')
  return text
}
