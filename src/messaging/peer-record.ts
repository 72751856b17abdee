/**
 * Signed peer records: how a node tells the network who it is and where to
 * reach it. The node signs its own record with its Ed25519 key; any node can
 * verify it from the node id alone, so records can travel through peers that
 * are not trusted to tell the truth about anyone else. A higher `seq` replaces
 * a lower one.
 *
 * Body: public key (32) | seq (u64) | name (u16 + UTF-8) | nat (u8) | flags (u8) |
 *       address count (u8) | addresses (kind u8, u16 + "host:port") | signature (64)
 * The signature covers RECORD_LABEL and every field before it.
 */
import net from 'node:net'
import { ProtocolError } from '../errors.js'
import { verifySignature, type Identity } from '../identity/identity.js'
import { nodeIdFromPublicKey, publicKeyFromNodeId, type NodeId } from '../identity/node-id.js'
import { BinaryReader, BinaryWriter } from '../util/binary.js'
import { hasControlCharacters } from '../util/printable.js'

const RECORD_LABEL = Buffer.from('p2p-overlay record v1\0')
export const MAX_RECORD_ADDRESSES = 8
export const MAX_NAME_LENGTH = 64

/** Where an address came from: how much to trust it, and how to use it. */
export enum AddressKind {
  /** An address of one of the node's own interfaces. */
  Local = 1,
  /** As a peer saw the node's packets arrive (HELLO `observed`). */
  Observed = 2,
  /** Server-reflexive: what a STUN server answered. */
  Reflexive = 3,
  /** A port mapping on the gateway (UPnP), seen to work. */
  Mapped = 4,
}

/** What the node found out about its NAT (issue 4 fills it in; Unknown until then). */
export enum NatType {
  Unknown = 0,
  Open = 1,
  Easy = 2,
  Hard = 3,
  Blocked = 4,
}

/** Bit flags. */
export const RecordFlags = {
  /** The node relays sessions for others. */
  Relay: 1,
} as const

export interface RecordAddress {
  kind: AddressKind
  /** "host:port", IPv4. */
  address: string
}

export interface PeerRecord {
  nodeId: NodeId
  name: string
  nat: NatType
  flags: number
  /** Candidates, best first. */
  addresses: RecordAddress[]
  /** Monotonic per node (milliseconds since the epoch at signing, or later). */
  seq: number
  signature: Buffer
}

export type UnsignedRecord = Omit<PeerRecord, 'signature' | 'nodeId'>

function writeUnsigned(w: BinaryWriter, record: Omit<PeerRecord, 'signature'>): void {
  w.fixed(publicKeyFromNodeId(record.nodeId)).u64(record.seq).string(record.name).u8(record.nat).u8(record.flags).u8(record.addresses.length)
  for (const { kind, address } of record.addresses) w.u8(kind).string(address)
}

export function signRecord(identity: Identity, fields: UnsignedRecord): PeerRecord {
  const unsigned = { ...fields, nodeId: identity.nodeId, addresses: fields.addresses.slice(0, MAX_RECORD_ADDRESSES) }
  const w = new BinaryWriter().fixed(RECORD_LABEL)
  writeUnsigned(w, unsigned)
  return { ...unsigned, signature: identity.sign(w.finish()) }
}

export function verifyRecord(record: PeerRecord): boolean {
  const w = new BinaryWriter().fixed(RECORD_LABEL)
  writeUnsigned(w, record)
  return verifySignature(publicKeyFromNodeId(record.nodeId), w.finish(), record.signature)
}

export function writeRecord(w: BinaryWriter, record: PeerRecord): void {
  writeUnsigned(w, record)
  w.fixed(record.signature)
}

/** Reads a record's fields (bounds-checked); the caller verifies the signature before using it. */
export function readRecord(r: BinaryReader): PeerRecord {
  const nodeId = nodeIdFromPublicKey(r.fixed(32, 'record key'))
  const seq = r.u64('record seq')
  const name = r.string('record name')
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw new ProtocolError('OVL_FRAME_MALFORMED', `record name must be 1 to ${MAX_NAME_LENGTH} characters`)
  // A name is shown to operators (console, logs, dashboard): no line breaks, escapes or bidirectional overrides.
  if (hasControlCharacters(name)) throw new ProtocolError('OVL_FRAME_MALFORMED', 'record name holds control characters')
  const nat = r.u8('record nat type')
  if (!(nat in NatType)) throw new ProtocolError('OVL_FRAME_MALFORMED', `record nat type ${nat} is unknown`)
  const flags = r.u8('record flags')
  const count = r.u8('address count')
  if (count > MAX_RECORD_ADDRESSES) throw new ProtocolError('OVL_FRAME_MALFORMED', `record has ${count} addresses (at most ${MAX_RECORD_ADDRESSES})`)
  const addresses: RecordAddress[] = []
  for (let i = 0; i < count; i++) {
    const kind = r.u8('address kind')
    if (!(kind in AddressKind)) throw new ProtocolError('OVL_FRAME_MALFORMED', `address kind ${kind} is unknown`)
    const address = r.string('record address')
    if (parseAddress(address) === null) throw new ProtocolError('OVL_FRAME_MALFORMED', 'record address is not IPv4 host:port')
    addresses.push({ kind, address })
  }
  const signature = Buffer.from(r.fixed(64, 'record signature'))
  return { nodeId, name, nat, flags, addresses, seq, signature }
}

export function encodeRecord(record: PeerRecord): Buffer {
  const w = new BinaryWriter(192)
  writeRecord(w, record)
  return w.finish()
}

export function decodeRecord(bytes: Buffer): PeerRecord {
  const r = new BinaryReader(bytes)
  const record = readRecord(r)
  r.end('record')
  return record
}

/** "a.b.c.d:port" to its parts, or null (IPv4 only, port 1-65535). */
export function parseAddress(address: string): { host: string; port: number } | null {
  const colon = address.lastIndexOf(':')
  if (colon < 0 || address.length > 21) return null
  const host = address.slice(0, colon)
  const portText = address.slice(colon + 1)
  const port = Number(portText)
  if (!net.isIPv4(host) || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return null
  return { host, port }
}

export function formatAddress(address: { host: string; port: number }): string {
  return `${address.host}:${address.port}`
}
