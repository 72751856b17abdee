/**
 * Node ids: the node's 32-byte Ed25519 public key in lowercase RFC 4648 base32
 * without padding (52 characters). The id *is* the key, so a revocation list of
 * ids is a list of keys, and any id can be checked against a signature.
 */
import { ConfigError } from '../errors.js'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const PUBLIC_KEY_BYTES = 32
export const NODE_ID_LENGTH = 52

export type NodeId = string

export function base32Encode(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

export function base32Decode(text: string): Uint8Array | null {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8))
  let buffer = 0
  let bits = 0
  let i = 0
  for (const ch of text) {
    const value = ALPHABET.indexOf(ch)
    if (value < 0) return null
    buffer = ((buffer << 5) | value) & 0xffff
    bits += 5
    if (bits >= 8) {
      out[i++] = (buffer >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  // A whole character left over (1, 3 or 6 characters mod 8) encodes no byte;
  // stray bits set in the last character make a non-canonical encoding.
  if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) return null
  return out
}

export function nodeIdFromPublicKey(publicKey: Uint8Array): NodeId {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new TypeError('an Ed25519 public key is 32 bytes')
  return base32Encode(publicKey)
}

export function isNodeId(text: string): boolean {
  return text.length === NODE_ID_LENGTH && base32Decode(text)?.length === PUBLIC_KEY_BYTES
}

export function publicKeyFromNodeId(id: NodeId): Uint8Array {
  const key = id.length === NODE_ID_LENGTH ? base32Decode(id) : null
  if (key === null || key.length !== PUBLIC_KEY_BYTES) {
    throw new ConfigError('OVL_CONFIG_INVALID', `"${id}" is not a node id (52 characters of base32: a-z, 2-7)`)
  }
  return key
}

/** The first characters of an id, for logs and tables. */
export function shortId(id: NodeId): string {
  return id.slice(0, 10)
}
