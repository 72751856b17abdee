/**
 * Frame types the session layer itself uses (0x01-0x0f). Types from 0x10 up
 * belong to the message codec above.
 */
import { ERROR_CODES, OverlayError, ProtocolError, type ErrorCode } from '../errors.js'
import { printable } from '../util/printable.js'

export enum SessionFrame {
  /** Binding proof: Ed25519 public key (32 B) and signature (64 B). */
  Auth = 0x01,
  /** "Your binding verified": the session is up once both sides have sent it. */
  AuthOk = 0x02,
  /** Why the sender is closing: code (u8 length + ASCII) and message (u16 length + UTF-8). */
  Close = 0x03,
  /**
   * Empty: the sender has finished and closes without an error. With CLOSE, the
   * only way a session ends cleanly: UDX's own END is not authenticated, so a
   * stream that ends without either was cut short (OVL_SESSION_TRUNCATED).
   */
  End = 0x04,
}

export const FIRST_MESSAGE_TYPE = 0x10

/** A CLOSE's message, most: a sender cuts its own to 200 characters; a peer's may not be longer than this. */
export const MAX_CLOSE_MESSAGE_BYTES = 512

export function encodeClose(error: OverlayError): Buffer {
  const code = Buffer.from(error.code, 'ascii')
  const message = Buffer.from(error.message.slice(0, 200), 'utf8').subarray(0, MAX_CLOSE_MESSAGE_BYTES)
  const out = Buffer.alloc(1 + code.length + 2 + message.length)
  out[0] = code.length
  code.copy(out, 1)
  out.writeUInt16BE(message.length, 1 + code.length)
  message.copy(out, 3 + code.length)
  return out
}

/**
 * The peer's reason, as an error with origin 'remote'. Unknown codes become
 * OVL_SESSION_CLOSED. The message is the peer's text, logged and printed:
 * its length is limited and its control characters escaped.
 */
export function decodeClose(body: Buffer): OverlayError {
  const codeLength = body[0]
  if (codeLength === undefined || body.length < 3 + codeLength) throw new ProtocolError('OVL_FRAME_MALFORMED', 'CLOSE frame is too short')
  const code = body.toString('ascii', 1, 1 + codeLength)
  const messageLength = body.readUInt16BE(1 + codeLength)
  if (body.length !== 3 + codeLength + messageLength) throw new ProtocolError('OVL_FRAME_MALFORMED', 'CLOSE frame length does not match')
  if (messageLength > MAX_CLOSE_MESSAGE_BYTES) throw new ProtocolError('OVL_FRAME_MALFORMED', `CLOSE message of ${messageLength} bytes (at most ${MAX_CLOSE_MESSAGE_BYTES})`)
  const message = printable(body.toString('utf8', 3 + codeLength))
  const known = Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'OVL_SESSION_CLOSED'
  return new OverlayError(known, `peer closed the session: ${message}`, { origin: 'remote' })
}
