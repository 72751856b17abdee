/**
 * Signed peer records: how a node tells the network who it is and where to
 * reach it. The node signs its own record with its Ed25519 key; any node can
 * verify it from the node id alone, so records can travel through peers that
 * are not trusted to tell the truth about anyone else. A higher `seq` replaces
 * a lower one.
 *
 * Body: public key (32) | seq (u64) | name (u16 + UTF-8) | address count (u8) |
 *       addresses (u16 + "host:port" each) | signature (64)
 * The signature covers RECORD_LABEL and every field before it.
 */
import { ProtocolError } from '../errors.js'
import { verifySignature, type Identity } from '../identity/identity.js'
import { nodeIdFromPublicKey, publicKeyFromNodeId, type NodeId } from '../identity/node-id.js'
import { BinaryReader, BinaryWriter } from '../messaging/binary.js'

const RECORD_LABEL = Buffer.from('p2p-overlay record v1\0')
export const MAX_RECORD_ADDRESSES = 8
const MAX_ADDRESS_LENGTH = 64

export interface PeerRecord {
  nodeId: NodeId
  name: string
  /** Where the node can be reached, as "host:port". Candidates, best first. */
  addresses: string[]
  /** Monotonic per node (milliseconds since the epoch at signing, or later). */
  seq: number
  signature: Buffer
}

function writeUnsigned(w: BinaryWriter, record: Omit<PeerRecord, 'signature'>): void {
  w.fixed(publicKeyFromNodeId(record.nodeId)).u64(record.seq).string(record.name).u8(record.addresses.length)
  for (const address of record.addresses) w.string(address)
}

export function signRecord(identity: Identity, fields: { name: string; addresses: string[]; seq: number }): PeerRecord {
  const addresses = fields.addresses.slice(0, MAX_RECORD_ADDRESSES)
  const unsigned = { nodeId: identity.nodeId, name: fields.name, addresses, seq: fields.seq }
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
  if (name.length === 0 || name.length > 64) throw new ProtocolError('OVL_FRAME_MALFORMED', 'record name must be 1 to 64 characters')
  const count = r.u8('address count')
  if (count > MAX_RECORD_ADDRESSES) throw new ProtocolError('OVL_FRAME_MALFORMED', `record has ${count} addresses (at most ${MAX_RECORD_ADDRESSES})`)
  const addresses: string[] = []
  for (let i = 0; i < count; i++) {
    const address = r.string('record address')
    if (address.length > MAX_ADDRESS_LENGTH || !/^[0-9a-zA-Z.:[\]-]+:\d{1,5}$/.test(address)) {
      throw new ProtocolError('OVL_FRAME_MALFORMED', 'record address is not host:port')
    }
    addresses.push(address)
  }
  const signature = Buffer.from(r.fixed(64, 'record signature'))
  return { nodeId, name, addresses, seq, signature }
}

export function encodeRecord(record: PeerRecord): Buffer {
  const w = new BinaryWriter(160)
  writeRecord(w, record)
  return w.finish()
}

export function decodeRecord(bytes: Buffer): PeerRecord {
  const r = new BinaryReader(bytes)
  const record = readRecord(r)
  r.end('record')
  return record
}
