/**
 * A node's Ed25519 identity. Secret keys are generated with @noble/ed25519 and
 * stored as PKCS#8 PEM (readable by openssl); libsodium derives the public key. Signing and verifying on the hot path (session
 * bindings, signed broadcasts and peer records) use libsodium through
 * sodium-native, the library that already seals session records: measured here
 * at about 17 us to sign and 46 us to verify, against 29 and 80 us for OpenSSL
 * through node:crypto and 280 us to sign in pure JS (docs/benchmarks.md).
 * All produce identical RFC 8032 signatures; a test checks that each verifies
 * the others'. libsodium's verify is the strictest of the three (it also
 * refuses small-order keys and non-canonical encodings), which no honest
 * signer produces.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import * as ed from '@noble/ed25519'
import sodium from 'sodium-native'
import { CredentialError } from '../errors.js'
import { writeSecretFile } from '../util/files.js'
import { nodeIdFromPublicKey, type NodeId } from './node-id.js'

export class Identity {
  readonly publicKey: Uint8Array
  readonly nodeId: NodeId
  /** libsodium's form of the secret key: the 32-byte seed, then the public key. */
  readonly #signingKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)

  private constructor(secretKey: Uint8Array) {
    const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
    sodium.crypto_sign_seed_keypair(publicKey, this.#signingKey, secretKey)
    this.publicKey = publicKey
    this.nodeId = nodeIdFromPublicKey(publicKey)
  }

  static generate(): Identity {
    return new Identity(ed.utils.randomSecretKey())
  }

  static fromSecretKey(secretKey: Uint8Array): Identity {
    if (secretKey.length !== 32) throw new CredentialError('OVL_IDENTITY_INVALID', 'an Ed25519 secret key is 32 bytes')
    return new Identity(secretKey)
  }

  static fromPem(pem: string, source = 'identity'): Identity {
    let jwk: crypto.JsonWebKey
    try {
      jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' })
    } catch (cause) {
      throw new CredentialError('OVL_IDENTITY_INVALID', `${source}: not a PEM private key`, { cause })
    }
    if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') {
      throw new CredentialError('OVL_IDENTITY_INVALID', `${source}: not an Ed25519 private key`)
    }
    return new Identity(Buffer.from(jwk.d, 'base64url'))
  }

  /** Loads an identity file, refusing one that other users can read. */
  static async load(file: string): Promise<Identity> {
    let stat
    try {
      stat = await fs.stat(file)
    } catch (cause) {
      throw new CredentialError('OVL_IDENTITY_INVALID', `${file}: cannot read identity file (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause })
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new CredentialError(
        'OVL_IDENTITY_INVALID',
        `${file}: identity file is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 ${file}`,
      )
    }
    let pem: string
    try {
      pem = await fs.readFile(file, 'utf8')
    } catch (cause) {
      throw new CredentialError('OVL_IDENTITY_INVALID', `${file}: cannot read identity file (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause })
    }
    return Identity.fromPem(pem, file)
  }

  /** Writes the identity as PKCS#8 PEM with mode 0600. Refuses to overwrite unless `force`. */
  async save(file: string, options: { force?: boolean } = {}): Promise<void> {
    await writeSecretFile(file, this.toPem(), options)
  }

  toPem(): string {
    const seed = this.#signingKey.subarray(0, sodium.crypto_sign_SEEDBYTES)
    const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(this.publicKey) }, format: 'jwk' })
    return key.export({ type: 'pkcs8', format: 'pem' }).toString()
  }

  sign(message: Uint8Array): Buffer {
    const signature = Buffer.allocUnsafe(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(signature, message, this.#signingKey)
    return signature
  }

  /** Keeps the private key out of logs and JSON. */
  toJSON(): { nodeId: NodeId } {
    return { nodeId: this.nodeId }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Identity(${this.nodeId})`
  }
}

/** Verifies an Ed25519 signature against a raw 32-byte public key. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== sodium.crypto_sign_PUBLICKEYBYTES || signature.length !== sodium.crypto_sign_BYTES) return false
  return sodium.crypto_sign_verify_detached(signature, message, publicKey)
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}
