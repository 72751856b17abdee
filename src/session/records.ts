/**
 * Session records: what a session's UDX stream carries, from its first byte.
 *
 *   0      1                 5
 *   +------+-----------------+---------------------+
 *   | kind | length (u32 BE) | payload ...         |
 *   +------+-----------------+---------------------+
 *
 *   kind 0x01  TLS     bytes of the TLS 1.3 handshake, as node:tls wrote them
 *   kind 0x02  SEALED  session frames, ChaCha20-Poly1305 ciphertext, tag last
 *
 * SEALED records are protected as TLS 1.3 protects its own records (RFC 8446
 * 5.2-5.3), under keys exported from the TLS session (RFC 8446 7.5), as QUIC
 * protects its packets with keys from a TLS 1.3 handshake (RFC 9001): the
 * header is the additional data, the nonce is the direction's IV XOR a 64-bit
 * record counter. The stream is reliable and ordered, so the receiver expects
 * exactly the next counter: a record dropped, replayed, reordered or altered
 * fails authentication. Crypto is libsodium's (sodium-native): one native call
 * per record, no stream machinery in between.
 */
import sodium from 'sodium-native'
import { ProtocolError } from '../errors.js'
import { PartialBytes } from './partial-bytes.js'
import type { TlsRole } from './binding.js'

export const RecordKind = { Tls: 0x01, Sealed: 0x02 } as const

export const RECORD_HEADER_BYTES = 5
export const TAG_BYTES = 16
/** Largest TLS record payload (node:tls writes handshake flights of a few KiB). */
export const MAX_TLS_RECORD_BYTES = 64 * 1024
/** Largest plaintext in one SEALED record: a batch of frames (flushed once it reaches 64 KiB) and its last frame fit in one record; larger batches are cut into records of this size. */
export const MAX_SEALED_PLAINTEXT_BYTES = 128 * 1024

/** RFC 8446 7.5 exporter label: distinct from the channel binding's, so the two values are independent. */
const RECORD_KEYS_LABEL = 'EXPORTER-p2p-overlay-record-keys'
const KEY_BYTES = 32
const IV_BYTES = 12
/**
 * A counter never wraps: past this many records under one key, sealing
 * throws and opening fails. ChaCha20-Poly1305 has no practical per-key limit
 * below 2^64 records (RFC 8446 5.5); 2^48 records of even one byte is years
 * at any rate UDX reaches.
 */
const MAX_RECORDS = 2 ** 48

export interface RecordKeys {
  key: Buffer
  iv: Buffer
}

/** Keys for each direction, from one exporter value; the client's sending keys are the server's receiving keys. */
export function deriveRecordKeys(
  socket: { exportKeyingMaterial(length: number, label: string, context: Buffer): Buffer },
  role: TlsRole,
): { send: RecordKeys; receive: RecordKeys } {
  const material = socket.exportKeyingMaterial(2 * (KEY_BYTES + IV_BYTES), RECORD_KEYS_LABEL, Buffer.alloc(0))
  const at = (offset: number): RecordKeys => ({
    key: Buffer.from(material.subarray(offset, offset + KEY_BYTES)),
    iv: Buffer.from(material.subarray(offset + KEY_BYTES, offset + KEY_BYTES + IV_BYTES)),
  })
  const clientToServer = at(0)
  const serverToClient = at(KEY_BYTES + IV_BYTES)
  material.fill(0)
  return role === 'client' ? { send: clientToServer, receive: serverToClient } : { send: serverToClient, receive: clientToServer }
}

/**
 * The nonces of one direction's records: the IV XOR a 64-bit record counter,
 * big-endian, in its last 8 bytes (RFC 8446 5.3). The IV's words are read
 * once; a nonce is two 32-bit writes into one buffer, reused.
 */
export class RecordNonces {
  /** The IV, then each nonce in turn: its first 4 bytes never change. */
  readonly #nonce: Buffer
  readonly #ivMiddle: number
  readonly #ivLast: number

  constructor(iv: Buffer) {
    this.#nonce = Buffer.from(iv)
    this.#ivMiddle = iv.readUInt32BE(4)
    this.#ivLast = iv.readUInt32BE(8)
  }

  /** The nonce of record `counter` (below 2^53), in a buffer the next call overwrites. */
  at(counter: number): Buffer {
    const nonce = this.#nonce
    nonce.writeUInt32BE((this.#ivMiddle ^ Math.floor(counter / 2 ** 32)) >>> 0, 4)
    nonce.writeUInt32BE((this.#ivLast ^ counter) >>> 0, 8) // ^ takes the counter's low 32 bits
    return nonce
  }
}

/** One direction's key and the nonces of its records, in order. */
class Direction {
  readonly key: Buffer
  readonly #nonces: RecordNonces
  #counter = 0

  constructor(keys: RecordKeys) {
    this.key = keys.key
    this.#nonces = new RecordNonces(keys.iv)
  }

  nextNonce(): Buffer {
    if (this.#counter >= MAX_RECORDS) throw new ProtocolError('OVL_SESSION_RECORD_INVALID', `the session reached ${MAX_RECORDS} records under one key`)
    return this.#nonces.at(this.#counter++)
  }
}

function writeHeader(target: Buffer, kind: number, length: number): void {
  target[0] = kind
  target.writeUInt32BE(length, 1)
}

/** A TLS record around `bytes` (at most MAX_TLS_RECORD_BYTES). */
export function tlsRecord(bytes: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bytes.length)
  writeHeader(record, RecordKind.Tls, bytes.length)
  record.set(bytes, RECORD_HEADER_BYTES)
  return record
}

/**
 * Seals this side's records, in order. Every typed-array view handed to
 * libsodium costs about 0.1 us to make and to read natively, so a record
 * takes as few as it can: the plaintext is encrypted straight from where it
 * lies into the record, and the header (the additional data) lives in a
 * buffer of its own, reused.
 */
export class RecordSealer {
  readonly #direction: Direction
  readonly #header = Buffer.alloc(RECORD_HEADER_BYTES)

  constructor(keys: RecordKeys) {
    this.#direction = new Direction(keys)
  }

  /** One SEALED record of `plaintext` (at most MAX_SEALED_PLAINTEXT_BYTES), in a new buffer. */
  seal(plaintext: Uint8Array): Buffer {
    const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + plaintext.length + TAG_BYTES)
    const header = this.#header
    writeHeader(header, RecordKind.Sealed, plaintext.length + TAG_BYTES)
    record.set(header, 0)
    const direction = this.#direction
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(record.subarray(RECORD_HEADER_BYTES), plaintext, header, null, direction.nextNonce(), direction.key)
    return record
  }
}

/** Opens the peer's records, in order. */
export class RecordOpener {
  readonly #direction: Direction
  /** The header of the record being opened, copied: the additional data without a view per record. */
  readonly #header = Buffer.alloc(RECORD_HEADER_BYTES)

  constructor(keys: RecordKeys) {
    this.#direction = new Direction(keys)
  }

  /**
   * Opens a whole SEALED record (header included) in place: its own bytes
   * become the plaintext, and the view of them is returned; no second buffer
   * per record. A record that does not authenticate throws
   * OVL_SESSION_RECORD_INVALID, and libsodium wipes what would have been its
   * plaintext: no unauthenticated byte is ever handed on.
   */
  openInPlace(record: Buffer): Buffer {
    const plaintext = record.subarray(RECORD_HEADER_BYTES, record.length - TAG_BYTES)
    const header = this.#header
    for (let i = 0; i < RECORD_HEADER_BYTES; i++) header[i] = record[i] as number
    const direction = this.#direction
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, null, record.subarray(RECORD_HEADER_BYTES), header, direction.nextNonce(), direction.key)
    } catch (err) {
      if (err instanceof ProtocolError) throw err
      throw new ProtocolError('OVL_SESSION_RECORD_INVALID', 'a sealed record does not authenticate (altered, replayed, reordered, or not sealed by the peer)')
    }
    return plaintext
  }
}

/**
 * Cuts a byte stream into whole records. The kind and length are checked as
 * soon as the 5 header bytes are in, before anything is buffered for the
 * payload. A record that lies whole in a chunk is handed out as a view of it.
 */
export class RecordReader {
  readonly #held = new PartialBytes()
  /** Whole length (header included) of the record in progress once its header is in; -1 before. */
  #need = -1

  /** Bytes of a record begun but not complete. */
  get bufferedBytes(): number {
    return this.#held.length
  }

  /** Feeds bytes; calls `onRecord` with each whole record (header included). Throws OVL_SESSION_RECORD_MALFORMED. */
  push(chunk: Buffer, onRecord: (kind: number, record: Buffer) => void): void {
    let offset = 0
    const held = this.#held
    if (held.length > 0) {
      if (this.#need < 0) {
        offset = Math.min(RECORD_HEADER_BYTES - held.length, chunk.length)
        held.append(chunk.subarray(0, offset), -1)
        if (held.length < RECORD_HEADER_BYTES) return
        this.#need = recordLength(held.head(RECORD_HEADER_BYTES), 0)
      }
      const n = Math.min(this.#need - held.length, chunk.length - offset)
      held.append(chunk.subarray(offset, offset + n), this.#need)
      offset += n
      if (held.length < this.#need) return
      const record = held.take()
      this.#need = -1
      onRecord(record[0] as number, record)
    }
    while (chunk.length - offset >= RECORD_HEADER_BYTES) {
      const length = recordLength(chunk, offset)
      if (offset + length > chunk.length) {
        this.#need = length
        break
      }
      onRecord(chunk[offset] as number, chunk.subarray(offset, offset + length))
      offset += length
    }
    if (offset < chunk.length) held.append(chunk.subarray(offset), this.#need)
  }
}

/** The whole length of the record whose header starts at `offset`, after checking its kind and length. */
function recordLength(bytes: Buffer, offset: number): number {
  const kind = bytes[offset] as number
  const length = bytes.readUInt32BE(offset + 1)
  if (kind === RecordKind.Tls) {
    if (length === 0 || length > MAX_TLS_RECORD_BYTES) throw new ProtocolError('OVL_SESSION_RECORD_MALFORMED', `a TLS record of ${length} bytes (1 to ${MAX_TLS_RECORD_BYTES} allowed)`)
  } else if (kind === RecordKind.Sealed) {
    if (length <= TAG_BYTES || length > MAX_SEALED_PLAINTEXT_BYTES + TAG_BYTES) {
      throw new ProtocolError('OVL_SESSION_RECORD_MALFORMED', `a sealed record of ${length} bytes (${TAG_BYTES + 1} to ${MAX_SEALED_PLAINTEXT_BYTES + TAG_BYTES} allowed)`)
    }
  } else {
    throw new ProtocolError('OVL_SESSION_RECORD_MALFORMED', `unknown record kind 0x${kind.toString(16).padStart(2, '0')}`)
  }
  return RECORD_HEADER_BYTES + length
}
