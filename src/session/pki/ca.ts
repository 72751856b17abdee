/**
 * The network CA: the one trust root of a network. node-forge issues; OpenSSL
 * (node:tls, crypto.X509Certificate) verifies.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import forge from 'node-forge'
import { CredentialError } from '../../errors.js'
import { exists, writePublicFile, writeSecretFile } from '../../util/files.js'
import { CA_KEY_BITS, CLOCK_SKEW_MS, DAY_MS, forgeKeyPairFromPem, generateRsaKeyPair, randomSerial } from './keys.js'

export const CA_CERT_FILE = 'ca.crt'
export const CA_KEY_FILE = 'ca.key'

export interface CaInit {
  name?: string
  days?: number
  /** Replace an existing CA in the directory. Every node certificate it issued stops being trusted. */
  force?: boolean
}

export interface NetworkCa {
  dir: string
  certPem: string
  keyPem: string
  cert: forge.pki.Certificate
  keys: forge.pki.rsa.KeyPair
}

export async function createCa(dir: string, init: CaInit = {}): Promise<NetworkCa> {
  const certFile = path.join(dir, CA_CERT_FILE)
  const keyFile = path.join(dir, CA_KEY_FILE)
  if (!init.force && ((await exists(certFile)) || (await exists(keyFile)))) {
    throw new CredentialError('OVL_FILE_EXISTS', `${dir} already holds a CA; refusing to overwrite it (use --force)`)
  }
  const name = init.name ?? 'p2p-overlay network CA'
  const days = init.days ?? 3650
  const { privateKeyPem, forgeKeys } = generateRsaKeyPair(CA_KEY_BITS)

  const cert = forge.pki.createCertificate()
  cert.publicKey = forgeKeys.publicKey
  cert.serialNumber = randomSerial()
  const now = Date.now()
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS)
  cert.validity.notAfter = new Date(now + days * DAY_MS)
  const subject = [{ name: 'commonName', value: name }]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(forgeKeys.privateKey, forge.md.sha256.create())
  const certPem = forge.pki.certificateToPem(cert)

  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  // Key first: a directory with a certificate but no key is never left behind.
  await writeSecretFile(keyFile, privateKeyPem, { force: init.force ?? false })
  await writePublicFile(certFile, certPem, { force: init.force ?? false })
  return { dir, certPem, keyPem: privateKeyPem, cert, keys: forgeKeys }
}

export async function loadCa(dir: string): Promise<NetworkCa> {
  const certFile = path.join(dir, CA_CERT_FILE)
  const keyFile = path.join(dir, CA_KEY_FILE)
  let certPem: string
  let keyPem: string
  try {
    ;[certPem, keyPem] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.readFile(keyFile, 'utf8')])
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).path ?? ''
    const [hasCert, hasKey] = await Promise.all([exists(certFile), exists(keyFile)])
    if (hasCert && !hasKey) {
      throw new CredentialError('OVL_CA_INVALID', `${keyFile}: not found; certificates are issued where the CA key is kept (${dir} holds only ${CA_CERT_FILE})`, { cause })
    }
    if (!hasCert && !hasKey) throw new CredentialError('OVL_CA_INVALID', `${dir}: no CA here (create one with: overlay ca create --out ${dir})`, { cause })
    throw new CredentialError('OVL_CA_INVALID', `${missing || dir}: cannot read it (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause })
  }
  let cert: forge.pki.Certificate
  let keys: forge.pki.rsa.KeyPair
  try {
    cert = forge.pki.certificateFromPem(certPem)
    keys = forgeKeyPairFromPem(keyPem)
  } catch (cause) {
    throw new CredentialError('OVL_CA_INVALID', `${dir}: ${CA_CERT_FILE} or ${CA_KEY_FILE} is malformed`, { cause })
  }
  const x509 = new crypto.X509Certificate(certPem)
  if (!x509.ca || !x509.checkPrivateKey(crypto.createPrivateKey(keyPem))) {
    throw new CredentialError('OVL_CA_INVALID', `${dir}: ${CA_KEY_FILE} is not the key of ${CA_CERT_FILE}, or ${CA_CERT_FILE} is not a CA certificate`)
  }
  return { dir, certPem, keyPem, cert, keys }
}
