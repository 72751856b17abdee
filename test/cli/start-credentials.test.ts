/**
 * `overlay start` with a config's tls: block judges its own credentials before
 * it listens, and says which file is wrong: an expired certificate, one from
 * another CA, an identity file that is not there (never created in its
 * place), a certificate of another node. Each exits 2 and writes nothing.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Identity } from '../../src/identity/identity.js'
import { issueNodeCertificate, writeNodeCertificate } from '../../src/session/pki/node-cert.js'
import { runCli } from '../helpers/cli.js'
import { tempDir, testCa } from '../helpers/pki.js'

const DAY = 24 * 60 * 60 * 1000

/** A node directory (identity.key, node.crt, node.key, ca.crt) and a config that names it. */
async function nodeDir(options: { notAfter?: Date; otherCa?: boolean; identityFile?: string; certFor?: Identity } = {}) {
  const dir = await tempDir('overlay-start-')
  const ca = await testCa('Lab CA')
  const identity = Identity.generate()
  await identity.save(path.join(dir, 'identity.key'))
  const issuer = options.otherCa ? await testCa('Lab CA') : ca
  const nodeId = (options.certFor ?? identity).nodeId
  const issued = issueNodeCertificate({ ca: issuer, nodeId, name: 'alpha', ...(options.notAfter ? { notBefore: new Date(Date.now() - 30 * DAY), notAfter: options.notAfter } : {}) })
  await writeNodeCertificate(dir, issued, ca)
  await fs.writeFile(path.join(dir, 'ca.crt'), ca.certPem) // the network's CA, whoever issued node.crt
  const config = path.join(dir, 'node.yaml')
  const identityFile = options.identityFile ?? path.join(dir, 'identity.key')
  await fs.writeFile(
    config,
    [
      'name: alpha',
      'listen: { host: 127.0.0.1, port: 0 }',
      `dataDir: ${path.join(dir, 'data')}`,
      `identity: ${identityFile}`,
      `tls: { ca: ${path.join(dir, 'ca.crt')}, cert: ${path.join(dir, 'node.crt')}, key: ${path.join(dir, 'node.key')} }`,
      'upnp: false',
      '',
    ].join('\n'),
  )
  return { dir, config, identityFile }
}

async function start(config: string): Promise<{ code: number | null; stderr: string }> {
  return runCli(['start', '--config', config, '--no-dashboard'], { timeoutMs: 20_000 })
}

describe('overlay start judges its own credentials', () => {
  it('refuses an expired certificate, naming it', async () => {
    const { dir, config } = await nodeDir({ notAfter: new Date(Date.now() - DAY) })
    const result = await start(config)
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /OVL_CERT_EXPIRED/)
    assert.ok(result.stderr.includes(path.join(dir, 'node.crt')), result.stderr)
  })

  it('refuses a certificate that the network CA in tls.ca did not issue', async () => {
    const { config } = await nodeDir({ otherCa: true })
    const result = await start(config)
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /OVL_CERT_UNTRUSTED/)
    assert.match(result.stderr, /tls\.ca/)
  })

  it('refuses an identity path that does not exist, and creates no identity there', async () => {
    const { dir, config } = await nodeDir({ identityFile: path.join('/tmp', `overlay-typo-${process.pid}`, 'identiy.key') })
    const result = await start(config)
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /OVL_IDENTITY_INVALID/)
    assert.match(result.stderr, /identiy\.key: no such file/)
    await assert.rejects(fs.access(path.join('/tmp', `overlay-typo-${process.pid}`)), 'nothing was written')
    assert.ok(dir)
  })

  it("refuses a certificate of another node, naming both files", async () => {
    const { dir, config, identityFile } = await nodeDir({ certFor: Identity.generate() })
    const result = await start(config)
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /OVL_CERT_IDENTITY_MISMATCH/)
    assert.ok(result.stderr.includes(path.join(dir, 'node.crt')) && result.stderr.includes(identityFile), result.stderr)
  })
})
