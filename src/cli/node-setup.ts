/**
 * From a validated config to a node: the identity (created on first start),
 * the TLS credentials (the configured files, or the development CA), the logger.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseHostPort, type NodeConfig } from '../config/load.js'
import { ConfigError, CredentialError, isOverlayError } from '../errors.js'
import { Identity } from '../identity/identity.js'
import type { Logger } from '../log/logger.js'
import { OverlayNode } from '../node/node.js'
import { ensureDevCredentials } from '../session/pki/dev-ca.js'
import { checkOwnCertificate } from '../session/pki/own-certificate.js'
import type { TlsCredentials } from '../session/tls-context.js'
import { exists } from '../util/files.js'

/** A node certificate this close to its expiry is warned of at start. */
const EXPIRY_WARNING_DAYS = 30

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
  const present = await exists(config.identity)
  if (!present && config.tls) {
    throw new CredentialError('OVL_IDENTITY_INVALID', `identity ${config.identity}: no such file (with tls: set, the identity the certificate names is read, never created)`)
  }
  const createdIdentity = !present
  let identity: Identity
  if (createdIdentity) {
    identity = Identity.generate()
    await identity.save(config.identity)
  } else {
    identity = await Identity.load(config.identity)
  }

  let credentials: TlsCredentials
  let devCa: string | null = null
  if (config.tls) {
    credentials = await readCredentials(config.tls)
    const { daysLeft } = checkOwnCertificate(credentials, config.tls)
    if (daysLeft <= EXPIRY_WARNING_DAYS) logger.warn({ cert: config.tls.cert }, `the node certificate expires in ${daysLeft} days: issue a new one before then`)
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
