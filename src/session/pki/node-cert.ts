/**
 * Node certificates: signed by the network CA, they name the node (CN) and its
 * Ed25519 identity (a URI in subjectAltName), and carry an RSA key for TLS.
 */
import type crypto from 'node:crypto'
import path from 'node:path'
import forge from 'node-forge'
import { NODE_ID_URI_PREFIX } from '../../constants.js'
import { CredentialError } from '../../errors.js'
import { isNodeId, type NodeId } from '../../identity/node-id.js'
import { writePublicFile, writeSecretFile } from '../../util/files.js'
import type { NetworkCa } from './ca.js'
import { CA_CERT_FILE } from './ca.js'
import { CLOCK_SKEW_MS, DAY_MS, generateRsaKeyPair, randomSerial } from './keys.js'

export const NODE_CERT_FILE = 'node.crt'
export const NODE_KEY_FILE = 'node.key'

export interface NodeCertInit {
  ca: NetworkCa
  nodeId: NodeId
  name: string
  days?: number
  /** Explicit validity, for tests of expired and not-yet-valid certificates. */
  notBefore?: Date
  notAfter?: Date
}

export interface IssuedCertificate {
  certPem: string
  keyPem: string
}

export function issueNodeCertificate(init: NodeCertInit): IssuedCertificate {
  if (!isNodeId(init.nodeId)) throw new CredentialError('OVL_IDENTITY_INVALID', `"${init.nodeId}" is not a node id`)
  if (init.name.length === 0 || init.name.length > 64) {
    throw new CredentialError('OVL_USAGE', 'a node name is 1 to 64 characters')
  }
  const { privateKeyPem, forgeKeys } = generateRsaKeyPair(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = forgeKeys.publicKey
  cert.serialNumber = randomSerial()
  const now = Date.now()
  cert.validity.notBefore = init.notBefore ?? new Date(now - CLOCK_SKEW_MS)
  cert.validity.notAfter = init.notAfter ?? new Date(now + (init.days ?? 365) * DAY_MS)
  cert.setSubject([{ name: 'commonName', value: init.name }])
  cert.setIssuer(init.ca.cert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 6, value: `${NODE_ID_URI_PREFIX}${init.nodeId}` }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: init.ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ])
  cert.sign(init.ca.keys.privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem }
}

/** Writes node.crt, node.key (0600) and a copy of the CA certificate into `dir`. */
export async function writeNodeCertificate(dir: string, issued: IssuedCertificate, ca: NetworkCa, options: { force?: boolean } = {}): Promise<{ certFile: string; keyFile: string; caFile: string }> {
  const certFile = path.join(dir, NODE_CERT_FILE)
  const keyFile = path.join(dir, NODE_KEY_FILE)
  const caFile = path.join(dir, CA_CERT_FILE)
  // The certificate first: a key left alone by a crash between the two would be a secret nobody can tell the origin of.
  await writePublicFile(certFile, issued.certPem, options)
  await writeSecretFile(keyFile, issued.keyPem, options)
  await writePublicFile(caFile, ca.certPem, { force: true })
  return { certFile, keyFile, caFile }
}

/** The node id named in a certificate, or null if it names none. */
export function nodeIdFromCertificate(cert: crypto.X509Certificate): NodeId | null {
  const san = cert.subjectAltName
  if (!san) return null
  for (const entry of san.split(', ')) {
    if (!entry.startsWith('URI:')) continue
    const uri = entry.slice(4)
    if (!uri.startsWith(NODE_ID_URI_PREFIX)) continue
    const id = uri.slice(NODE_ID_URI_PREFIX.length)
    if (isNodeId(id)) return id
  }
  return null
}

/** The common name in a subject string as node:crypto prints it ("CN=alpha"). */
export function commonName(subject: string): string {
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3)
  return ''
}
