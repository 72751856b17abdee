/**
 * The STUN messages this node writes and reads, built and parsed with the
 * `stun` package's codec. Bytes reach decode only after wire.ts has checked
 * their framing.
 */
import net from 'node:net'
import stun from 'stun'
import type { RemoteAddress } from '../../transport/connection.js'
import { STUN_MAX_UNKNOWN_LISTED } from '../constants.js'
import { readErrorCode, StunAttr, StunType, type RawAttribute, type StunHeader } from './wire.js'

/** What an answer must echo from its request. */
export interface AnsweredRequest {
  header: StunHeader
  /** The request's raw bytes 4-19: the whole transaction id of an RFC 3489 request. */
  rawTransaction: Buffer
  /** Answer with FINGERPRINT (the request had one). */
  fingerprint: boolean
}

export function encodeBindingRequest(transactionId: Buffer): Buffer {
  return stun.createMessage(StunType.BindingRequest, transactionId).toBuffer()
}

/**
 * Binding success: XOR-MAPPED-ADDRESS (RFC 5389/8489), or MAPPED-ADDRESS for
 * an RFC 3489 request, which cannot read the XOR form.
 */
export function encodeBindingSuccess(request: AnsweredRequest, mapped: RemoteAddress): Buffer {
  const message = stun.createMessage(StunType.BindingSuccess, request.header.transactionId)
  if (request.header.legacy) message.addAddress(mapped.host, mapped.port)
  else message.addXorAddress(mapped.host, mapped.port)
  return finish(message, request)
}

/** 420 Unknown Attribute (RFC 8489 section 6.3.1), naming at most STUN_MAX_UNKNOWN_LISTED of them. */
export function encodeUnknownAttributes(request: AnsweredRequest, unknown: number[]): Buffer {
  const message = stun.createMessage(StunType.BindingError, request.header.transactionId)
  message.addError(420, 'Unknown Attribute')
  message.addAttribute(StunAttr.UnknownAttributes, unknown.slice(0, STUN_MAX_UNKNOWN_LISTED))
  return finish(message, request)
}

function finish(message: ReturnType<typeof stun.createMessage>, request: AnsweredRequest): Buffer {
  if (request.fingerprint && !request.header.legacy) message.addFingerprint()
  const bytes = message.toBuffer()
  // RFC 3489: the transaction id is 16 bytes, where RFC 5389 put the cookie and 12 bytes.
  if (request.header.legacy) request.rawTransaction.copy(bytes, 4)
  return bytes
}

export type DecodedAnswer =
  | { kind: 'success'; mapped: RemoteAddress; attribute: 'xor-mapped-address' | 'mapped-address' }
  | { kind: 'error'; code: number; reason: string }
  | { kind: 'invalid'; why: string }

/** A Binding answer (success or error) whose framing wire.ts has checked. */
export function decodeAnswer(data: Buffer, header: StunHeader, attributes: RawAttribute[]): DecodedAnswer {
  if (header.type === StunType.BindingError) {
    const raw = attributes.find((a) => a.type === StunAttr.ErrorCode)
    const error = raw ? readErrorCode(raw.value) : null
    return error ? { kind: 'error', ...error } : { kind: 'invalid', why: 'an error response without a valid ERROR-CODE' }
  }
  if (header.type !== StunType.BindingSuccess) return { kind: 'invalid', why: `message type 0x${header.type.toString(16).padStart(4, '0')} is no Binding answer` }
  let decoded: ReturnType<typeof stun.decode>
  try {
    decoded = stun.decode(data)
  } catch (err) {
    return { kind: 'invalid', why: `does not decode: ${(err as Error).message}` }
  }
  const xor = safe(() => decoded.getXorAddress())
  if (xor && net.isIPv4(xor.address)) return { kind: 'success', mapped: { host: xor.address, port: xor.port }, attribute: 'xor-mapped-address' }
  const plain = safe(() => decoded.getAddress())
  if (plain && net.isIPv4(plain.address)) return { kind: 'success', mapped: { host: plain.address, port: plain.port }, attribute: 'mapped-address' }
  return { kind: 'invalid', why: 'no IPv4 XOR-MAPPED-ADDRESS or MAPPED-ADDRESS' }
}

function safe<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}
