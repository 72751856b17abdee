/** Test credentials: a CA per test file, node identities and certificates issued from it. */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Identity } from '../../src/identity/identity.js'
import { createCa, type NetworkCa } from '../../src/session/pki/ca.js'
import { issueNodeCertificate, type NodeCertInit } from '../../src/session/pki/node-cert.js'
import type { TlsCredentials } from '../../src/session/tls-context.js'

export async function tempDir(prefix = 'overlay-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix))
}

export async function testCa(name = 'test CA'): Promise<NetworkCa> {
  return createCa(path.join(await tempDir('overlay-ca-'), 'ca'), { name })
}

export interface TestCredentials {
  identity: Identity
  credentials: TlsCredentials
}

/** A fresh identity and a certificate for it (or for `certNodeId`, to test mismatches). */
export function testCredentials(ca: NetworkCa, name: string, options: Partial<Omit<NodeCertInit, 'ca' | 'name'>> & { identity?: Identity; trust?: NetworkCa } = {}): TestCredentials {
  const identity = options.identity ?? Identity.generate()
  const issued = issueNodeCertificate({ ca, name, nodeId: options.nodeId ?? identity.nodeId, ...options })
  return { identity, credentials: { ca: (options.trust ?? ca).certPem, cert: issued.certPem, key: issued.keyPem } }
}
