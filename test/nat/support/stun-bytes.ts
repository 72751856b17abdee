/** STUN messages built byte by byte, for tests: any attribute type, RFC 3489 form, FINGERPRINT. */
import { randomBytes } from 'node:crypto'
import zlib from 'node:zlib'
import { StunAttr } from '../../../src/nat/stun/wire.js'

export interface RawMessageOptions {
  /** false: RFC 3489 (bytes 4-19 are the transaction id). Default true. */
  cookie?: boolean
  fingerprint?: boolean
  /** 12 bytes (16 without the cookie); random by default. */
  transactionId?: Buffer
}

export function rawMessage(type: number, attributes: Array<[number, Buffer]> = [], options: RawMessageOptions = {}): Buffer {
  const body = Buffer.concat(
    attributes.map(([t, v]) => {
      const head = Buffer.alloc(4)
      head.writeUInt16BE(t, 0)
      head.writeUInt16BE(v.length, 2)
      return Buffer.concat([head, v, Buffer.alloc((4 - (v.length % 4)) % 4)])
    }),
  )
  const header = Buffer.alloc(20)
  header.writeUInt16BE(type, 0)
  if (options.cookie === false) (options.transactionId ?? randomBytes(16)).copy(header, 4)
  else {
    header.writeUInt32BE(0x2112a442, 4)
    ;(options.transactionId ?? randomBytes(12)).copy(header, 8)
  }
  let bytes = Buffer.concat([header, body])
  bytes.writeUInt16BE(body.length + (options.fingerprint ? 8 : 0), 2)
  if (options.fingerprint) {
    const fp = Buffer.alloc(8)
    fp.writeUInt16BE(StunAttr.Fingerprint, 0)
    fp.writeUInt16BE(4, 2)
    fp.writeUInt32BE((zlib.crc32(bytes) ^ 0x5354554e) >>> 0, 4)
    bytes = Buffer.concat([bytes, fp])
  }
  return bytes
}
