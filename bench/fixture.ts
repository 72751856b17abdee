/**
 * Credentials for both contenders, made once per run in a temp directory with
 * the product's own PKI code: one network CA and two node certificates. The
 * overlay nodes and the TCP+TLS baseline use the very same files, so both run
 * TLS 1.3 with the same RSA keys and the same chain checks.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Identity } from '../src/identity/identity.js'
import { createCa } from '../src/session/pki/ca.js'
import { issueNodeCertificate } from '../src/session/pki/node-cert.js'
import type { TlsCredentials } from '../src/session/tls-context.js'

export interface NodeCredentials {
  name: string
  identity: Identity
  credentials: TlsCredentials
}

export interface Fixture {
  dir: string
  /** The dialing side (TLS client). */
  client: NodeCredentials
  /** The listening side (TLS server). */
  server: NodeCredentials
}

const NAMES = ['client', 'server'] as const

export async function createFixture(): Promise<Fixture> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'overlay-bench-'))
  try {
    const ca = await createCa(path.join(dir, 'ca'), { name: 'p2p-overlay bench CA' })
    const nodes = NAMES.map((name): NodeCredentials => {
      const identity = Identity.generate()
      const issued = issueNodeCertificate({ ca, name: `bench-${name}`, nodeId: identity.nodeId, days: 2 })
      return { name: `bench-${name}`, identity, credentials: { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem } }
    })
    for (const [i, node] of nodes.entries()) {
      const nodeDir = path.join(dir, NAMES[i] as string)
      await fs.mkdir(nodeDir, { mode: 0o700 })
      await node.identity.save(path.join(nodeDir, 'identity.pem'))
      await fs.writeFile(path.join(nodeDir, 'node.crt'), node.credentials.cert)
      await fs.writeFile(path.join(nodeDir, 'node.key'), node.credentials.key, { mode: 0o600 })
    }
    return { dir, client: nodes[0] as NodeCredentials, server: nodes[1] as NodeCredentials }
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true })
    throw err
  }
}

/** Loads a fixture written by createFixture (in a child process). */
export async function loadFixture(dir: string): Promise<Fixture> {
  const caPem = await fs.readFile(path.join(dir, 'ca', 'ca.crt'), 'utf8')
  const load = async (role: (typeof NAMES)[number]): Promise<NodeCredentials> => {
    const nodeDir = path.join(dir, role)
    return {
      name: `bench-${role}`,
      identity: await Identity.load(path.join(nodeDir, 'identity.pem')),
      credentials: {
        ca: caPem,
        cert: await fs.readFile(path.join(nodeDir, 'node.crt'), 'utf8'),
        key: await fs.readFile(path.join(nodeDir, 'node.key'), 'utf8'),
      },
    }
  }
  return { dir, client: await load('client'), server: await load('server') }
}

export async function removeFixture(fixture: Fixture): Promise<void> {
  await fs.rm(fixture.dir, { recursive: true, force: true })
}
