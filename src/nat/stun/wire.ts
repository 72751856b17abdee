/**
 * STUN framing checked on the raw bytes (RFC 8489 sections 5, 14), before the
 * `stun` codec sees them: size, header, attribute boundaries, FINGERPRINT.
 * Pure functions; nothing here allocates more than the datagram it is given.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  |0 0|  message type (method + class)|        message length         |
 *  |                 magic cookie 0x2112A442 (RFC 3489: transaction id) |
 *  |                  transaction id (96 bits)                          |
 *  then attributes: type (16), length (16), value padded to 4 bytes.
 */
import zlib from 'node:zlib'
import { STUN_HEADER_BYTES, STUN_MAGIC_COOKIE, STUN_MAX_ATTRIBUTES, STUN_MAX_MESSAGE_BYTES } from '../constants.js'

export enum StunClass {
  Request = 0,
  Indication = 1,
  Success = 2,
  Error = 3,
}

export const BINDING_METHOD = 0x001

/** Message types of the Binding method. */
export const StunType = {
  BindingRequest: 0x0001,
  BindingIndication: 0x0011,
  BindingSuccess: 0x0101,
  BindingError: 0x0111,
} as const

/** Attribute types this code reads or writes (RFC 8489 section 18.3, RFC 5780, RFC 8445). */
export const StunAttr = {
  MappedAddress: 0x0001,
  ChangeRequest: 0x0003,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  Realm: 0x0014,
  Nonce: 0x0015,
  MessageIntegritySha256: 0x001c,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  Padding: 0x0026,
  Fingerprint: 0x8028,
} as const

const FINGERPRINT_XOR = 0x5354554e
const FINGERPRINT_ATTR_BYTES = 8

/** Why a STUN datagram was not answered or not taken: reported as the node's `input:rejected` reason. */
export type StunDropReason =
  | 'stun-malformed'
  | 'stun-too-large'
  | 'stun-bad-fingerprint'
  | 'stun-indication'
  | 'stun-unsupported-method'
  | 'stun-rate-limited'
  | 'stun-answer-too-large'
  | 'stun-not-serving'
  | 'stun-unsolicited-response'
  | 'stun-late-response'
  | 'stun-response-wrong-source'

export interface StunHeader {
  type: number
  method: number
  cls: StunClass
  /** Length of the attributes, from the header. */
  length: number
  /** No magic cookie: an RFC 3489 message, whose transaction id is bytes 4-19. */
  legacy: boolean
  /** Bytes 8-19: the RFC 5389 transaction id (for a legacy message, the last 12 of its 16). */
  transactionId: Buffer
}

export interface RawAttribute {
  type: number
  value: Buffer
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: StunDropReason }

/** The class bits C1 (bit 8) and C0 (bit 4) of a message type. */
export function classOf(type: number): StunClass {
  return (((type >> 7) & 0x2) | ((type >> 4) & 0x1)) as StunClass
}

/** The method bits of a message type (the class bits removed). */
export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2)
}

export function readHeader(data: Buffer): Checked<StunHeader> {
  if (data.length > STUN_MAX_MESSAGE_BYTES) return { ok: false, reason: 'stun-too-large' }
  if (data.length < STUN_HEADER_BYTES || (data[0]! & 0xc0) !== 0) return { ok: false, reason: 'stun-malformed' }
  const type = data.readUInt16BE(0)
  const length = data.readUInt16BE(2)
  if (length % 4 !== 0 || STUN_HEADER_BYTES + length !== data.length) return { ok: false, reason: 'stun-malformed' }
  return {
    ok: true,
    value: { type, method: methodOf(type), cls: classOf(type), length, legacy: data.readUInt32BE(4) !== STUN_MAGIC_COOKIE, transactionId: Buffer.from(data.subarray(8, STUN_HEADER_BYTES)) },
  }
}

/**
 * The attributes, checked: each fits in the message, at most
 * STUN_MAX_ATTRIBUTES, and FINGERPRINT (if any) is last and matches.
 */
export function readAttributes(data: Buffer, header: StunHeader): Checked<RawAttribute[]> {
  const attributes: RawAttribute[] = []
  let offset = STUN_HEADER_BYTES
  while (offset < data.length) {
    if (attributes.length >= STUN_MAX_ATTRIBUTES || offset + 4 > data.length) return { ok: false, reason: 'stun-malformed' }
    const type = data.readUInt16BE(offset)
    const length = data.readUInt16BE(offset + 2)
    const end = offset + 4 + length
    if (end > data.length) return { ok: false, reason: 'stun-malformed' }
    attributes.push({ type, value: data.subarray(offset + 4, end) })
    offset = end + ((4 - (length % 4)) % 4)
  }
  const fingerprint = attributes.findIndex((a) => a.type === StunAttr.Fingerprint)
  if (fingerprint >= 0) {
    if (fingerprint !== attributes.length - 1 || header.legacy || attributes[fingerprint]!.value.length !== 4) return { ok: false, reason: 'stun-malformed' }
    if (!fingerprintMatches(data)) return { ok: false, reason: 'stun-bad-fingerprint' }
  }
  return { ok: true, value: attributes }
}

/** RFC 8489 section 14.7: CRC-32 of the message up to the FINGERPRINT attribute, XOR 0x5354554e. */
function fingerprintMatches(data: Buffer): boolean {
  const end = data.length - FINGERPRINT_ATTR_BYTES
  return ((zlib.crc32(data.subarray(0, end)) ^ FINGERPRINT_XOR) >>> 0) === data.readUInt32BE(end + 4)
}

/** Types 0x0000-0x7FFF must be understood by the receiver (RFC 8489 section 14). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000
}

/** ERROR-CODE (RFC 8489 section 14.8), read from the bytes (the codec's v2.1.0 decoder gets the number wrong). */
export function readErrorCode(value: Buffer): { code: number; reason: string } | null {
  if (value.length < 4) return null
  const cls = value[2]! & 0x07
  const number = value[3]!
  if (cls < 3 || cls > 6 || number > 99) return null
  return { code: cls * 100 + number, reason: value.subarray(4).toString('utf8').slice(0, 128) }
}
