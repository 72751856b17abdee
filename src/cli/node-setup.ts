/**
 * From a validated config to a node: the identity (created on first start),
 * the TLS credentials (the configured files, or the development CA), the logger.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseHostPort, type NodeConfig } from '../config/load.js'
import { ConfigError, CredentialError, isOverlayError } from '../errors.js'
import { Identity } from '../identity/identity.js'
import type { Logger } from '../log/logger.js'
import { OverlayNode } from '../node/node.js'
import { ensureDevCredentials } from '../session/pki/dev-ca.js'
import type { TlsCredentials } from '../session/tls-context.js'
import { exists } from '../util/files.js'

export interface PreparedNode {
  node: OverlayNode
  /** Set when the node runs on the development CA. */
  devCa: string | null
  createdIdentity: boolean
}

export async function prepareNode(config: NodeConfig, logger: Logger): Promise<PreparedNode> {
  try {
    await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  } catch (cause) {
    throw new ConfigError('OVL_FILE_UNWRITABLE', `dataDir ${config.dataDir}: cannot create it (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause })
  }
  // A new identity only for a node on the development CA: with tls: set, the
  // certificate names an identity that exists already, and a new one (a typo
  // in the path) could never match it.
  const createdIdentity = !config.tls && !(await exists(config.identity))
  let identity: Identity
  if (createdIdentity) {
    identity = Identity.generate()
    await identity.save(config.identity)
  } else {
    if (!(await exists(config.identity))) {
      throw new CredentialError('OVL_IDENTITY_INVALID', `identity ${config.identity}: no such file (with tls: set, the identity the certificate names is read, never created)`)
    }
    identity = await Identity.load(config.identity)
  }

  let credentials: TlsCredentials
  let devCa: string | null = null
  if (config.tls) {
    credentials = await readCredentials(config.tls)
    checkOwnCertificate(credentials, config.tls, logger)
  } else {
    const dev = await ensureDevCredentials({ caDir: config.devCaDir, certDir: config.dataDir, identity, name: config.name })
    credentials = await readCredentials({ ca: dev.caFile, cert: dev.certFile, key: dev.keyFile })
    devCa = config.devCaDir
  }

  let node: OverlayNode
  try {
    node = newNode(config, identity, credentials, logger)
  } catch (err) {
    if (isOverlayError(err) && err.code === 'OVL_CERT_IDENTITY_MISMATCH') {
      const certFile = config.tls?.cert ?? path.join(config.dataDir, 'node.crt')
      throw new CredentialError('OVL_CERT_IDENTITY_MISMATCH', `${certFile} and the identity ${config.identity} are not the same node: ${err.message}`, { cause: err })
    }
    throw err
  }
  return { node, devCa, createdIdentity }
}

function newNode(config: NodeConfig, identity: Identity, credentials: TlsCredentials, logger: Logger): OverlayNode {
  return new OverlayNode({
    identity,
    credentials,
    host: config.listen.host,
    port: config.listen.port,
    limits: config.limits,
    heartbeat: config.heartbeat,
    peers: config.peers,
    messaging: config.messaging,
    relay: config.relay,
    bootstrap: config.bootstrap,
    stun: config.stun.map(parseHostPort),
    upnp: config.upnp,
    dataDir: config.dataDir,
    revoked: config.revoked,
    logger,
  })
}

async function readCredentials(files: { ca: string; cert: string; key: string }): Promise<TlsCredentials> {
  const read = async (file: string, what: string): Promise<string> => {
    try {
      return await fs.readFile(file, 'utf8')
    } catch (cause) {
      throw new CredentialError('OVL_CERT_INVALID', `${file}: cannot read the ${what} (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause })
    }
  }
  const keyStat = await fs.stat(files.key).catch(() => null)
  if (keyStat && (keyStat.mode & 0o077) !== 0) {
    throw new CredentialError('OVL_CERT_INVALID', `${files.key}: TLS key is readable by other users (mode ${(keyStat.mode & 0o777).toString(8)}); run chmod 600 ${files.key}`)
  }
  const [ca, cert, key] = await Promise.all([read(files.ca, 'CA certificate'), read(files.cert, 'node certificate'), read(files.key, 'TLS key')])
  return { ca, cert, key }
}

/** Expiry warned of this long ahead. */
const EXPIRY_WARNING_MS = 30 * 24 * 60 * 60 * 1000

/**
 * The node's own certificate, as every peer will judge it: issued by the
 * network CA in tls.ca and valid now. Found at start, with the file named,
 * rather than as every peer's refusal after the node is up.
 */
function checkOwnCertificate(credentials: TlsCredentials, files: { ca: string; cert: string }, logger: Logger, now = Date.now()): void {
  let cert: crypto.X509Certificate
  let ca: crypto.X509Certificate
  try {
    cert = new crypto.X509Certificate(credentials.cert)
    ca = new crypto.X509Certificate(credentials.ca)
  } catch (cause) {
    throw new CredentialError('OVL_CERT_INVALID', `${files.cert} or ${files.ca}: not a PEM certificate (${(cause as Error).message})`, { cause })
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new CredentialError('OVL_CERT_UNTRUSTED', `${files.cert} is not issued by the CA in ${files.ca} (tls.ca): every peer would refuse it`)
  }
  const validFrom = Date.parse(cert.validFrom)
  const validTo = Date.parse(cert.validTo)
  if (now < validFrom) throw new CredentialError('OVL_CERT_NOT_YET_VALID', `${files.cert} is not valid before ${cert.validFrom} (check this machine's clock)`)
  if (now > validTo) throw new CredentialError('OVL_CERT_EXPIRED', `${files.cert} expired ${cert.validTo}: issue a new one (overlay cert issue, or certs/add-node.sh)`)
  if (validTo - now < EXPIRY_WARNING_MS) {
    logger.warn({ cert: files.cert, validTo: cert.validTo }, `the node certificate expires in ${Math.ceil((validTo - now) / 86_400_000)} days: issue a new one before then`)
  }
}
