/**
 * The network CA and node certificates: issued with node-forge, checked here
 * with OpenSSL (crypto.X509Certificate), as the nodes check them. Also the
 * peer-certificate check and the TLS configuration built from the files.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import forge from 'node-forge'
import { NODE_ID_URI_PREFIX } from '../../src/constants.js'
import { Identity } from '../../src/identity/identity.js'
import { checkPeerCertificate } from '../../src/session/peer-certificate.js'
import { CA_CERT_FILE, CA_KEY_FILE, createCa, loadCa, type NetworkCa } from '../../src/session/pki/ca.js'
import { inspectCertificate } from '../../src/session/pki/inspect.js'
import { checkOwnCertificate } from '../../src/session/pki/own-certificate.js'
import { generateRsaKeyPair } from '../../src/session/pki/keys.js'
import { issueNodeCertificate, nodeIdFromCertificate, writeNodeCertificate, NODE_CERT_FILE, NODE_KEY_FILE, type IssuedCertificate } from '../../src/session/pki/node-cert.js'
import { TlsConfig } from '../../src/session/tls-context.js'
import { tempDir } from '../helpers/pki.js'

const DAY_MS = 24 * 60 * 60 * 1000

async function scratchDir(t: TestContext): Promise<string> {
  const dir = await tempDir('overlay-pki-')
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

async function fileMode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777
}

/** A certificate node-forge signs with `ca` but the issuer would never make: for the checks' refusal paths. */
function craft(ca: NetworkCa, options: { nodeId?: string; serverAuth?: boolean; clientAuth?: boolean }): { certPem: string; keyPem: string } {
  const { privateKeyPem, forgeKeys } = generateRsaKeyPair(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = forgeKeys.publicKey
  cert.serialNumber = '01'
  cert.validity.notBefore = new Date(Date.now() - DAY_MS)
  cert.validity.notAfter = new Date(Date.now() + DAY_MS)
  cert.setSubject([{ name: 'commonName', value: 'crafted' }])
  cert.setIssuer(ca.cert.subject.attributes)
  const extensions: unknown[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: options.serverAuth ?? true, clientAuth: options.clientAuth ?? true },
  ]
  if (options.nodeId !== undefined) extensions.push({ name: 'subjectAltName', altNames: [{ type: 6, value: `${NODE_ID_URI_PREFIX}${options.nodeId}` }] })
  cert.setExtensions(extensions as object[])
  cert.sign(ca.keys.privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem }
}

describe('PKI', () => {
  let root: string
  let ca: NetworkCa
  let otherCa: NetworkCa
  /** Another CA with the very same name: only the signature tells them apart. */
  let lookalikeCa: NetworkCa
  let identity: Identity
  let issued: IssuedCertificate

  before(async () => {
    root = await tempDir('overlay-pki-')
    ;[ca, otherCa, lookalikeCa] = await Promise.all([
      createCa(path.join(root, 'ca'), { name: 'pki test CA' }),
      createCa(path.join(root, 'other'), { name: 'another CA' }),
      createCa(path.join(root, 'lookalike'), { name: 'pki test CA' }),
    ])
    identity = Identity.generate()
    issued = issueNodeCertificate({ ca, nodeId: identity.nodeId, name: 'alpha' })
  })

  after(() => fs.rm(root, { recursive: true, force: true }))

  describe('createCa', () => {
    it('writes ca.key with mode 0600 and ca.crt with 0644, a self-signed CA certificate for that key', async () => {
      assert.equal(await fileMode(path.join(ca.dir, CA_KEY_FILE)), 0o600)
      assert.equal(await fileMode(path.join(ca.dir, CA_CERT_FILE)), 0o644)
      const cert = new crypto.X509Certificate(await fs.readFile(path.join(ca.dir, CA_CERT_FILE)))
      assert.equal(cert.ca, true)
      assert.ok(cert.checkIssued(cert) && cert.verify(cert.publicKey), 'self-signed')
      assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(await fs.readFile(path.join(ca.dir, CA_KEY_FILE)))))
      assert.match(cert.subject, /CN=pki test CA/)
    })

    it('refuses to overwrite an existing CA without force (OVL_FILE_EXISTS), and replaces it with force', async (t) => {
      const dir = path.join(await scratchDir(t), 'ca')
      const first = await createCa(dir, { name: 'first' })
      await assert.rejects(createCa(dir, { name: 'second' }), { code: 'OVL_FILE_EXISTS' })
      assert.equal(await fs.readFile(path.join(dir, CA_CERT_FILE), 'utf8'), first.certPem, 'the certificate is untouched')
      assert.equal(await fs.readFile(path.join(dir, CA_KEY_FILE), 'utf8'), first.keyPem, 'the key is untouched')

      const replaced = await createCa(dir, { name: 'second', force: true })
      assert.notEqual(replaced.certPem, first.certPem)
      assert.equal(await fs.readFile(path.join(dir, CA_CERT_FILE), 'utf8'), replaced.certPem)
      assert.equal(await fileMode(path.join(dir, CA_KEY_FILE)), 0o600)
    })

    it('refuses a directory that holds only a CA key', async (t) => {
      const dir = await scratchDir(t)
      await fs.writeFile(path.join(dir, CA_KEY_FILE), 'precious', { mode: 0o600 })
      await assert.rejects(createCa(dir), { code: 'OVL_FILE_EXISTS' })
      assert.equal(await fs.readFile(path.join(dir, CA_KEY_FILE), 'utf8'), 'precious')
    })

    it('loads what it created, and refuses a CA whose key is not its certificate’s: OVL_CA_INVALID', async (t) => {
      const loaded = await loadCa(ca.dir)
      assert.equal(loaded.certPem, ca.certPem)
      const dir = await scratchDir(t)
      await fs.writeFile(path.join(dir, CA_CERT_FILE), ca.certPem)
      await fs.writeFile(path.join(dir, CA_KEY_FILE), otherCa.keyPem, { mode: 0o600 })
      await assert.rejects(loadCa(dir), { code: 'OVL_CA_INVALID' })
      await assert.rejects(loadCa(path.join(dir, 'missing')), { code: 'OVL_CA_INVALID' })
    })
  })

  describe('node certificates', () => {
    it('verify against their CA with OpenSSL and name the node id', () => {
      const cert = new crypto.X509Certificate(issued.certPem)
      const caCert = new crypto.X509Certificate(ca.certPem)
      assert.ok(cert.checkIssued(caCert))
      assert.ok(cert.verify(caCert.publicKey))
      assert.equal(cert.ca, false)
      assert.equal(nodeIdFromCertificate(cert), identity.nodeId)
      assert.ok(cert.subjectAltName?.includes(`URI:${NODE_ID_URI_PREFIX}${identity.nodeId}`))
      assert.match(cert.subject, /CN=alpha/)
      assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(issued.keyPem)), 'the TLS key belongs to the certificate')
      assert.deepEqual([...(cert.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])
    })

    it('do not verify against another CA, even one with the same name', () => {
      const cert = new crypto.X509Certificate(issued.certPem)
      for (const other of [otherCa, lookalikeCa]) {
        const otherCert = new crypto.X509Certificate(other.certPem)
        assert.equal(cert.verify(otherCert.publicKey), false)
      }
    })

    it('carry the validity they were issued with', () => {
      const notBefore = new Date(Date.UTC(2020, 0, 1))
      const notAfter = new Date(Date.UTC(2020, 0, 2))
      const cert = new crypto.X509Certificate(issueNodeCertificate({ ca, nodeId: identity.nodeId, name: 'old', notBefore, notAfter }).certPem)
      assert.equal(Date.parse(cert.validFrom), notBefore.getTime())
      assert.equal(Date.parse(cert.validTo), notAfter.getTime())
    })

    it('are refused for a malformed node id (OVL_IDENTITY_INVALID) or name (OVL_USAGE)', () => {
      assert.throws(() => issueNodeCertificate({ ca, nodeId: identity.nodeId.toUpperCase(), name: 'x' }), { code: 'OVL_IDENTITY_INVALID' })
      assert.throws(() => issueNodeCertificate({ ca, nodeId: identity.nodeId, name: '' }), { code: 'OVL_USAGE' })
      assert.throws(() => issueNodeCertificate({ ca, nodeId: identity.nodeId, name: 'n'.repeat(65) }), { code: 'OVL_USAGE' })
    })

    it('are written as node.crt, node.key (0600) and ca.crt, and not overwritten without force', async (t) => {
      const dir = await scratchDir(t)
      const files = await writeNodeCertificate(dir, issued, ca)
      assert.deepEqual(files, { certFile: path.join(dir, NODE_CERT_FILE), keyFile: path.join(dir, NODE_KEY_FILE), caFile: path.join(dir, CA_CERT_FILE) })
      assert.equal(await fileMode(files.keyFile), 0o600)
      assert.equal(await fs.readFile(files.caFile, 'utf8'), ca.certPem)
      await assert.rejects(writeNodeCertificate(dir, issued, ca), { code: 'OVL_FILE_EXISTS' })
      await assert.doesNotReject(writeNodeCertificate(dir, issued, ca, { force: true }))
    })
  })

  describe('inspectCertificate', () => {
    async function certFile(t: TestContext, pem: string): Promise<string> {
      const file = path.join(await scratchDir(t), 'node.crt')
      await fs.writeFile(file, pem)
      return file
    }

    it('reports a valid certificate, verified against the right CA (a file or its directory)', async (t) => {
      const file = await certFile(t, issued.certPem)
      for (const caPath of [ca.dir, path.join(ca.dir, CA_CERT_FILE)]) {
        const report = await inspectCertificate(file, { ca: caPath })
        assert.equal(report.validity, 'valid')
        assert.equal(report.nodeId, identity.nodeId)
        assert.equal(report.name, 'alpha')
        assert.equal(report.isCa, false)
        assert.deepEqual(report.verification, { ca: path.join(ca.dir, CA_CERT_FILE), verified: true })
      }
    })

    it('reports a failed verification against the wrong CA, and against a lookalike with the same name', async (t) => {
      const file = await certFile(t, issued.certPem)
      for (const other of [otherCa, lookalikeCa]) {
        const report = await inspectCertificate(file, { ca: other.dir })
        assert.equal(report.verification?.verified, false)
        assert.ok(report.verification?.reason, 'with a reason')
      }
      const notACa = await inspectCertificate(file, { ca: file })
      assert.equal(notACa.verification?.verified, false, 'a node certificate is no CA')
    })

    it('reports validity against the clock it is given', async (t) => {
      const file = await certFile(t, issued.certPem)
      assert.equal((await inspectCertificate(file, { now: new Date(Date.now() + 400 * DAY_MS) })).validity, 'expired')
      assert.equal((await inspectCertificate(file, { now: new Date(Date.now() - 2 * DAY_MS) })).validity, 'not-yet-valid')
      const expired = await inspectCertificate(file, { ca: ca.dir, now: new Date(Date.now() + 400 * DAY_MS) })
      assert.equal(expired.verification?.verified, false, 'an expired certificate does not verify')
    })

    it('reports a CA certificate as one', async () => {
      const report = await inspectCertificate(path.join(ca.dir, CA_CERT_FILE))
      assert.equal(report.isCa, true)
      assert.equal(report.nodeId, null)
    })

    it('refuses a missing file or one that is not a PEM certificate: OVL_CERT_INVALID', async (t) => {
      const dir = await scratchDir(t)
      await assert.rejects(inspectCertificate(path.join(dir, 'missing.crt')), { code: 'OVL_CERT_INVALID' })
      const junk = path.join(dir, 'junk.crt')
      await fs.writeFile(junk, 'not a certificate')
      await assert.rejects(inspectCertificate(junk), { code: 'OVL_CERT_INVALID' })
    })
  })

  describe('checkPeerCertificate', () => {
    it('accepts a node certificate from the network CA and names the peer', () => {
      const info = checkPeerCertificate(new crypto.X509Certificate(issued.certPem), new crypto.X509Certificate(ca.certPem), 'client')
      assert.equal(info.nodeId, identity.nodeId)
      assert.equal(info.name, 'alpha')
    })

    it('refuses what a handshake cannot easily produce: no certificate, the CA itself, the wrong purpose, no node id', () => {
      const caCert = new crypto.X509Certificate(ca.certPem)
      assert.throws(() => checkPeerCertificate(undefined, caCert, 'client'), { code: 'OVL_CERT_MISSING' })
      assert.throws(() => checkPeerCertificate(caCert, caCert, 'server'), { code: 'OVL_CERT_REJECTED' })
      const serverOnly = new crypto.X509Certificate(craft(ca, { nodeId: identity.nodeId, clientAuth: false }).certPem)
      assert.doesNotThrow(() => checkPeerCertificate(serverOnly, caCert, 'server'))
      assert.throws(() => checkPeerCertificate(serverOnly, caCert, 'client'), { code: 'OVL_CERT_REJECTED' })
      assert.throws(() => checkPeerCertificate(new crypto.X509Certificate(craft(ca, {}).certPem), caCert, 'client'), { code: 'OVL_CERT_REJECTED' })
    })

    it('judges trust first, then validity, at the time it is given', () => {
      const caCert = new crypto.X509Certificate(ca.certPem)
      const cert = new crypto.X509Certificate(issued.certPem)
      assert.throws(() => checkPeerCertificate(cert, new crypto.X509Certificate(lookalikeCa.certPem), 'client'), { code: 'OVL_CERT_UNTRUSTED' })
      assert.throws(() => checkPeerCertificate(cert, caCert, 'client', Date.now() + 400 * DAY_MS), { code: 'OVL_CERT_EXPIRED' })
      assert.throws(() => checkPeerCertificate(cert, caCert, 'client', Date.now() - 2 * DAY_MS), { code: 'OVL_CERT_NOT_YET_VALID' })
    })
  })

  describe('TlsConfig', () => {
    it('takes the node id and name from the certificate', () => {
      const config = new TlsConfig({ ca: ca.certPem, cert: issued.certPem, key: issued.keyPem })
      assert.equal(config.ownNodeId, identity.nodeId)
      assert.equal(config.ownName, 'alpha')
    })

    it('refuses unusable credentials (OVL_CERT_INVALID) and a certificate without a node id (OVL_CERT_NO_NODE_ID)', () => {
      const other = issueNodeCertificate({ ca, nodeId: Identity.generate().nodeId, name: 'beta' })
      assert.throws(() => new TlsConfig({ ca: ca.certPem, cert: 'junk', key: issued.keyPem }), { code: 'OVL_CERT_INVALID' })
      assert.throws(() => new TlsConfig({ ca: ca.certPem, cert: issued.certPem, key: other.keyPem }), { code: 'OVL_CERT_INVALID' }, 'a key that is not the certificate’s')
      const noId = craft(ca, {})
      assert.throws(() => new TlsConfig({ ca: ca.certPem, cert: noId.certPem, key: noId.keyPem }), { code: 'OVL_CERT_NO_NODE_ID' })
    })
  })
})

describe('what the CA tooling says when something is missing or mixed up', () => {
  it('a CA directory without its key names the key file and does not suggest creating a CA over it', async () => {
    const dir = path.join(await tempDir(), 'ca')
    await createCa(dir, { name: 'Keyless' })
    await fs.rm(path.join(dir, CA_KEY_FILE))
    await assert.rejects(loadCa(dir), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'OVL_CA_INVALID')
      assert.ok(err.message.startsWith(`${path.join(dir, CA_KEY_FILE)}: not found`), err.message)
      assert.doesNotMatch(err.message, /ca create/)
      return true
    })
    await assert.rejects(loadCa(path.join(dir, 'nothing')), { code: 'OVL_CA_INVALID', message: /no CA here \(create one with: overlay ca create/ })
  })

  it('inspect tells a certificate of another CA with the same name apart from a wrong issuer', async () => {
    const root = await tempDir()
    const first = await createCa(path.join(root, 'first'), { name: 'Same Name' })
    await createCa(path.join(root, 'second'), { name: 'Same Name' })
    const identity = Identity.generate()
    await writeNodeCertificate(path.join(root, 'node'), issueNodeCertificate({ ca: first, nodeId: identity.nodeId, name: 'n' }), first)
    const report = await inspectCertificate(path.join(root, 'node', NODE_CERT_FILE), { ca: path.join(root, 'second') })
    assert.deepEqual(report.verification, { ca: path.join(root, 'second', CA_CERT_FILE), verified: false, reason: 'issued by another CA of the same name (its key identifiers differ)' })
  })
})

describe("the node's own certificate, judged at start", () => {
  it('says how many days are left, and refuses one that expired, is not yet valid, or is not from tls.ca', async () => {
    const root = await tempDir()
    const ca = await createCa(path.join(root, 'ca'), { name: 'Own CA' })
    const other = await createCa(path.join(root, 'other'), { name: 'Own CA' })
    const nodeId = Identity.generate().nodeId
    const files = { ca: 'ca.crt', cert: 'node.crt' }
    const day = 86_400_000
    const now = Date.now()
    const issued = issueNodeCertificate({ ca, nodeId, name: 'n', notBefore: new Date(now - day), notAfter: new Date(now + 10.5 * day) })
    assert.deepEqual(checkOwnCertificate({ ca: ca.certPem, cert: issued.certPem, key: issued.keyPem }, files, now), { daysLeft: 10 })
    assert.throws(() => checkOwnCertificate({ ca: ca.certPem, cert: issued.certPem, key: '' }, files, now + 11 * day), { code: 'OVL_CERT_EXPIRED', message: /^node\.crt expired/ })
    assert.throws(() => checkOwnCertificate({ ca: ca.certPem, cert: issued.certPem, key: '' }, files, now - 2 * day), { code: 'OVL_CERT_NOT_YET_VALID' })
    assert.throws(() => checkOwnCertificate({ ca: other.certPem, cert: issued.certPem, key: '' }, files, now), { code: 'OVL_CERT_UNTRUSTED', message: /tls\.ca/ })
  })
})
