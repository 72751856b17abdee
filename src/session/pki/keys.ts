import crypto from 'node:crypto'
import forge from 'node-forge'

/** RSA sizes: node-forge can only put RSA keys in certificates. */
export const CA_KEY_BITS = 3072
export const NODE_KEY_BITS = 2048

/** Generates an RSA key pair with OpenSSL (fast) and hands it to node-forge for certificate work. */
export function generateRsaKeyPair(bits: number): { privateKeyPem: string; forgeKeys: forge.pki.rsa.KeyPair } {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits })
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  return { privateKeyPem, forgeKeys: forgeKeyPairFromPem(privateKeyPem) }
}

export function forgeKeyPairFromPem(privateKeyPem: string): forge.pki.rsa.KeyPair {
  const privateKey = forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e)
  return { privateKey, publicKey }
}

/** A positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
export function randomSerial(): string {
  const bytes = crypto.randomBytes(16)
  bytes[0] = (bytes[0] ?? 0) & 0x7f
  return bytes.toString('hex')
}

export const DAY_MS = 24 * 60 * 60 * 1000
/** Certificates start a little in the past so a peer with a slow clock accepts them. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000
