/**
 * The development CA that `overlay start` falls back on when no tls: is
 * configured: it issues the node a certificate once, issues a new one when
 * the node's name changes, and never replaces a certificate or key that
 * another CA issued (a secret that cannot be made again).
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Identity } from '../../src/identity/identity.js'
import { createCa } from '../../src/session/pki/ca.js'
import { DEV_CA_NAME, ensureDevCredentials } from '../../src/session/pki/dev-ca.js'
import { issueNodeCertificate, writeNodeCertificate } from '../../src/session/pki/node-cert.js'
import { tempDir } from '../helpers/pki.js'

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  for (const name of (await fs.readdir(dir)).sort()) files[name] = (await fs.readFile(path.join(dir, name))).toString('base64')
  return files
}

describe('development credentials', () => {
  it('issues once, and again when the node name changes', async () => {
    const root = await tempDir()
    const identity = Identity.generate()
    const options = { caDir: path.join(root, 'certs/dev'), certDir: path.join(root, 'data'), identity, name: 'alpha' }
    const first = await ensureDevCredentials(options)
    assert.deepEqual(first.created, [options.caDir, first.certFile])
    const cert = new crypto.X509Certificate(await fs.readFile(first.certFile))
    assert.equal(cert.subject, 'CN=alpha')
    assert.equal(cert.issuer, `CN=${DEV_CA_NAME}`)
    assert.deepEqual((await ensureDevCredentials(options)).created, [], 'nothing new for the same node')
    const renamed = await ensureDevCredentials({ ...options, name: 'beta' })
    assert.deepEqual(renamed.created, [first.certFile])
    assert.equal(new crypto.X509Certificate(await fs.readFile(first.certFile)).subject, 'CN=beta')
  })

  it("refuses to replace a certificate and key that the operator's CA issued, and leaves them as they were", async () => {
    const root = await tempDir()
    const identity = Identity.generate()
    const networkCa = await createCa(path.join(root, 'network'), { name: 'Lab network CA' })
    const dataDir = path.join(root, 'alpha')
    await writeNodeCertificate(dataDir, issueNodeCertificate({ ca: networkCa, nodeId: identity.nodeId, name: 'alpha' }), networkCa)
    const before = await snapshot(dataDir)
    await assert.rejects(ensureDevCredentials({ caDir: path.join(root, 'certs/dev'), certDir: dataDir, identity, name: 'alpha' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'OVL_FILE_EXISTS')
      assert.match(err.message, /Lab network CA/)
      assert.match(err.message, /tls:/)
      return true
    })
    assert.deepEqual(await snapshot(dataDir), before, 'node.crt, node.key and ca.crt are untouched')
  })

  it('issues again when its own certificate was left without its key (a crash between the two writes)', async () => {
    const root = await tempDir()
    const options = { caDir: path.join(root, 'certs/dev'), certDir: path.join(root, 'data'), identity: Identity.generate(), name: 'alpha' }
    const first = await ensureDevCredentials(options)
    await fs.rm(first.keyFile)
    assert.deepEqual((await ensureDevCredentials(options)).created, [first.certFile])
    await fs.access(first.keyFile)
  })

  it('refuses to replace a TLS key that has no certificate beside it', async () => {
    const root = await tempDir()
    const dataDir = path.join(root, 'data')
    await fs.mkdir(dataDir)
    await fs.writeFile(path.join(dataDir, 'node.key'), 'a key the development CA did not make', { mode: 0o600 })
    const before = await snapshot(dataDir)
    await assert.rejects(ensureDevCredentials({ caDir: path.join(root, 'certs/dev'), certDir: dataDir, identity: Identity.generate(), name: 'alpha' }), { code: 'OVL_FILE_EXISTS' })
    assert.deepEqual(await snapshot(dataDir), before)
  })
})
