/**
 * Development credentials: `overlay start` with no certificate configured uses a
 * development CA in ./certs/dev (created once, shared by every node started from
 * the same directory) and issues the node a certificate from it.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { CredentialError } from '../../errors.js'
import type { Identity } from '../../identity/identity.js'
import { exists } from '../../util/files.js'
import { createCa, loadCa, CA_CERT_FILE, type NetworkCa } from './ca.js'
import { commonName, issueNodeCertificate, nodeIdFromCertificate, writeNodeCertificate, NODE_CERT_FILE, NODE_KEY_FILE } from './node-cert.js'

export const DEV_CA_NAME = 'p2p-overlay DEVELOPMENT CA - not for production'

export interface DevCredentials {
  caFile: string
  certFile: string
  keyFile: string
  /** What was created now (empty when everything already existed). */
  created: string[]
}

export async function ensureDevCredentials(options: { caDir: string; certDir: string; identity: Identity; name: string }): Promise<DevCredentials> {
  const created: string[] = []
  const ca = await ensureDevCa(options.caDir, created)
  const certFile = path.join(options.certDir, NODE_CERT_FILE)
  const keyFile = path.join(options.certDir, NODE_KEY_FILE)
  if (!(await usableNodeCert(certFile, keyFile, ca, options.identity, options.name))) {
    await refuseToReplaceOthers(certFile, keyFile)
    const issued = issueNodeCertificate({ ca, nodeId: options.identity.nodeId, name: options.name })
    await writeNodeCertificate(options.certDir, issued, ca, { force: true })
    created.push(certFile)
  }
  return { caFile: path.join(options.certDir, CA_CERT_FILE), certFile, keyFile, created }
}

async function ensureDevCa(dir: string, created: string[]): Promise<NetworkCa> {
  if (await exists(path.join(dir, CA_CERT_FILE))) return loadCa(dir)
  // Build the CA in a private directory, then rename it into place: two nodes
  // starting at once cannot both win, and the loser uses the winner's CA.
  const temp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`
  await createCa(temp, { name: DEV_CA_NAME, days: 3650 })
  await fs.mkdir(path.dirname(dir), { recursive: true })
  try {
    await fs.rename(temp, dir)
    created.push(dir)
  } catch (cause) {
    await fs.rm(temp, { recursive: true, force: true })
    const code = (cause as NodeJS.ErrnoException).code
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw cause
  }
  return loadCa(dir)
}

/**
 * The data directory may hold a certificate from the operator's own CA (a
 * config that lost its tls: block, or --data-dir pointed at a node made with
 * certs/add-node.sh): its key is a secret that cannot be made again. Only
 * what a development CA issued is ever replaced.
 */
async function refuseToReplaceOthers(certFile: string, keyFile: string): Promise<void> {
  let certPem: string
  try {
    certPem = await fs.readFile(certFile, 'utf8')
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CredentialError('OVL_CERT_INVALID', `${certFile}: cannot read it (${(cause as NodeJS.ErrnoException).code ?? cause}); refusing to replace it`, { cause })
    }
    if (await exists(keyFile)) {
      throw new CredentialError('OVL_FILE_EXISTS', `${keyFile} exists without ${path.basename(certFile)} beside it; refusing to replace a TLS key the development CA did not make (set tls: in the config to use it, or move it away)`)
    }
    return
  }
  let issuer: string
  try {
    issuer = commonName(new crypto.X509Certificate(certPem).issuer)
  } catch (cause) {
    throw new CredentialError('OVL_FILE_EXISTS', `${certFile} is not a certificate; refusing to replace it (move it away to start on the development CA)`, { cause })
  }
  if (issuer !== DEV_CA_NAME) {
    throw new CredentialError(
      'OVL_FILE_EXISTS',
      `${certFile} holds a certificate from the CA "${issuer}", not a development CA; refusing to replace it and its key. To run on it, set tls: (ca, cert, key) in the config; to run on the development CA, use another --data-dir`,
    )
  }
}

async function usableNodeCert(certFile: string, keyFile: string, ca: NetworkCa, identity: Identity, name: string): Promise<boolean> {
  try {
    const [certPem, keyPem] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.readFile(keyFile, 'utf8')])
    const cert = new crypto.X509Certificate(certPem)
    const caCert = new crypto.X509Certificate(ca.certPem)
    const renewBefore = Date.now() + 7 * 24 * 60 * 60 * 1000
    return (
      cert.verify(caCert.publicKey) &&
      nodeIdFromCertificate(cert) === identity.nodeId &&
      commonName(cert.subject) === name && // a new --name is a new certificate
      cert.checkPrivateKey(crypto.createPrivateKey(keyPem)) &&
      new Date(cert.validTo).getTime() > renewBefore
    )
  } catch {
    return false
  }
}
