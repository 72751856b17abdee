/**
 * Origin signatures on messages that travel through other nodes (BROADCAST,
 * ROUTED). The signature covers a label and every field but `hopLimit`, which
 * relays decrement; so a relay can neither forge nor alter a message, only
 * drop it. The label differs per message type, so one can never pass for the other.
 */
import { verifySignature, type Identity } from '../identity/identity.js'
import { publicKeyFromNodeId } from '../identity/node-id.js'
import { BinaryWriter } from '../util/binary.js'
import type { BroadcastMessage, RoutedMessage } from './messages.js'

const BROADCAST_LABEL = Buffer.from('p2p-overlay broadcast v1\0')
const ROUTED_LABEL = Buffer.from('p2p-overlay routed v1\0')

type Unsigned<M> = Omit<M, 'signature' | 'hopLimit' | 'type'>

function broadcastBytes(m: Unsigned<BroadcastMessage>): Buffer {
  return new BinaryWriter(96 + m.payload.length).fixed(BROADCAST_LABEL).fixed(publicKeyFromNodeId(m.origin)).u64(m.seq).u8(m.kind).bytes16(m.payload).finish()
}

function routedBytes(m: Unsigned<RoutedMessage>): Buffer {
  return new BinaryWriter(128 + m.payload.length)
    .fixed(ROUTED_LABEL)
    .fixed(publicKeyFromNodeId(m.origin))
    .fixed(publicKeyFromNodeId(m.target))
    .fixed(Buffer.from(m.id, 'hex'))
    .u8(m.kind)
    .bytes16(m.payload)
    .finish()
}

export function signBroadcast(identity: Identity, fields: Omit<Unsigned<BroadcastMessage>, 'origin'>): Omit<BroadcastMessage, 'type' | 'hopLimit'> {
  const unsigned = { ...fields, origin: identity.nodeId }
  return { ...unsigned, signature: identity.sign(broadcastBytes(unsigned)) }
}

export function verifyBroadcast(m: BroadcastMessage): boolean {
  return verifySignature(publicKeyFromNodeId(m.origin), broadcastBytes(m), m.signature)
}

export function signRouted(identity: Identity, fields: Omit<Unsigned<RoutedMessage>, 'origin'>): Omit<RoutedMessage, 'type' | 'hopLimit'> {
  const unsigned = { ...fields, origin: identity.nodeId }
  return { ...unsigned, signature: identity.sign(routedBytes(unsigned)) }
}

export function verifyRouted(m: RoutedMessage): boolean {
  return verifySignature(publicKeyFromNodeId(m.origin), routedBytes(m), m.signature)
}
