/**
 * Connection-setup datagrams. A UDX stream needs the remote stream id, so a
 * session starts with a small exchange on the node's UDP socket:
 *
 *   dialer                                   listener
 *   REQUEST  {streamId, nonce} (64 B) ──────►  stateless: cookie = HMAC(src, streamId, nonce, epoch)
 *            ◄────── COOKIE {streamId, nonce, cookie} (32 B)
 *   CONFIRM  {streamId, nonce, cookie} (64 B) ─►  cookie ok, under limits: allocate stream
 *            ◄────── ACCEPT {streamId, nonce, listenerStreamId} (20 B)
 *                    or REJECT {streamId, nonce, reason} (17 B)
 *
 * A spoofed source never sees its cookie, so it cannot make the listener keep
 * state; every reply is smaller than the request that caused it, so the
 * exchange cannot amplify. Layout (all integers big-endian):
 *
 *   0  u8  magic 0xa5          4  u32 dialer stream id
 *   1  u8  version             8  8 B dialer nonce
 *   2  u8  type               16  type-specific (cookie: 16 B; listener stream id: u32; reason: u8)
 *   3  u8  reserved (0)
 */
import { CONTROL_MAGIC, PROTOCOL_VERSION, SETUP_REQUEST_BYTES } from '../constants.js'

export enum ControlType {
  SetupRequest = 1,
  SetupCookie = 2,
  SetupConfirm = 3,
  SetupAccept = 4,
  SetupReject = 5,
}

export const COOKIE_BYTES = 16
export const NONCE_BYTES = 8
const HEADER_BYTES = 16

export enum RejectReason {
  /** The listener is at its half-open limit (globally or for this source). */
  Busy = 1,
  /** The listener is shutting down. */
  Closing = 2,
}

export type SetupDatagram =
  | { type: ControlType.SetupRequest; streamId: number; nonce: Buffer }
  | { type: ControlType.SetupCookie; streamId: number; nonce: Buffer; cookie: Buffer }
  | { type: ControlType.SetupConfirm; streamId: number; nonce: Buffer; cookie: Buffer }
  | { type: ControlType.SetupAccept; streamId: number; nonce: Buffer; listenerStreamId: number }
  | { type: ControlType.SetupReject; streamId: number; nonce: Buffer; reason: RejectReason }

export function encodeSetup(message: SetupDatagram): Buffer {
  let size: number
  switch (message.type) {
    case ControlType.SetupRequest:
    case ControlType.SetupConfirm:
      size = SETUP_REQUEST_BYTES
      break
    case ControlType.SetupCookie:
      size = HEADER_BYTES + COOKIE_BYTES
      break
    case ControlType.SetupAccept:
      size = HEADER_BYTES + 4
      break
    case ControlType.SetupReject:
      size = HEADER_BYTES + 1
      break
  }
  const out = Buffer.alloc(size)
  out[0] = CONTROL_MAGIC
  out[1] = PROTOCOL_VERSION
  out[2] = message.type
  out.writeUInt32BE(message.streamId, 4)
  message.nonce.copy(out, 8, 0, NONCE_BYTES)
  switch (message.type) {
    case ControlType.SetupCookie:
    case ControlType.SetupConfirm:
      message.cookie.copy(out, HEADER_BYTES, 0, COOKIE_BYTES)
      break
    case ControlType.SetupAccept:
      out.writeUInt32BE(message.listenerStreamId, HEADER_BYTES)
      break
    case ControlType.SetupReject:
      out[HEADER_BYTES] = message.reason
      break
    case ControlType.SetupRequest:
      break
  }
  return out
}

/** Decodes a setup datagram, or returns null for anything malformed (the caller counts and drops it). */
export function decodeSetup(data: Buffer): SetupDatagram | null {
  if (data.length < HEADER_BYTES || data[0] !== CONTROL_MAGIC || data[1] !== PROTOCOL_VERSION) return null
  const streamId = data.readUInt32BE(4)
  if (streamId === 0) return null
  const nonce = Buffer.from(data.subarray(8, HEADER_BYTES))
  switch (data[2]) {
    case ControlType.SetupRequest:
      // Requests must be padded: a short request could otherwise draw a larger reply.
      return data.length === SETUP_REQUEST_BYTES ? { type: ControlType.SetupRequest, streamId, nonce } : null
    case ControlType.SetupConfirm:
      return data.length === SETUP_REQUEST_BYTES
        ? { type: ControlType.SetupConfirm, streamId, nonce, cookie: Buffer.from(data.subarray(HEADER_BYTES, HEADER_BYTES + COOKIE_BYTES)) }
        : null
    case ControlType.SetupCookie:
      return data.length === HEADER_BYTES + COOKIE_BYTES
        ? { type: ControlType.SetupCookie, streamId, nonce, cookie: Buffer.from(data.subarray(HEADER_BYTES)) }
        : null
    case ControlType.SetupAccept: {
      if (data.length !== HEADER_BYTES + 4) return null
      const listenerStreamId = data.readUInt32BE(HEADER_BYTES)
      return listenerStreamId === 0 ? null : { type: ControlType.SetupAccept, streamId, nonce, listenerStreamId }
    }
    case ControlType.SetupReject: {
      const reason = data[HEADER_BYTES]
      return data.length === HEADER_BYTES + 1 && (reason === RejectReason.Busy || reason === RejectReason.Closing)
        ? { type: ControlType.SetupReject, streamId, nonce, reason }
        : null
    }
    default:
      return null
  }
}

export function isSetupType(type: number | undefined): boolean {
  return type !== undefined && type >= ControlType.SetupRequest && type <= ControlType.SetupReject
}
