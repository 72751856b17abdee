/**
 * A node's Ed25519 identity: generation, PEM files (0600, refused when others
 * can read them), and signatures that libsodium (what the identity signs and
 * verifies with), OpenSSL and @noble/ed25519 agree on.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import util from 'node:util'
import { describe, it, type TestContext } from 'node:test'
import * as ed from '@noble/ed25519'
import { Identity, verifySignature } from '../../src/identity/identity.js'
import { isNodeId, nodeIdFromPublicKey } from '../../src/identity/node-id.js'
import { tempDir } from '../helpers/pki.js'

// noble needs a SHA-512 for its synchronous sign and verify; OpenSSL's is the obvious one.
ed.hashes.sha512 = (message: Uint8Array) => new Uint8Array(crypto.createHash('sha512').update(message).digest())

// RFC 8032, section 7.1, TEST 1 and TEST 3.
const RFC8032 = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
]

/** A temporary directory, removed after the test. */
async function scratchDir(t: TestContext): Promise<string> {
  const dir = await tempDir('overlay-identity-')
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

async function fileMode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777
}

describe('Identity', () => {
  it('derives the node id from the public key, which is the noble public key of the secret', () => {
    const secret = ed.utils.randomSecretKey()
    const identity = Identity.fromSecretKey(secret)
    assert.deepEqual(Buffer.from(identity.publicKey), Buffer.from(ed.getPublicKey(secret)))
    assert.equal(identity.nodeId, nodeIdFromPublicKey(identity.publicKey))
    assert.ok(isNodeId(identity.nodeId))
    assert.notEqual(Identity.generate().nodeId, Identity.generate().nodeId)
  })

  it('signs the RFC 8032 test vectors exactly', () => {
    for (const vector of RFC8032) {
      const identity = Identity.fromSecretKey(Buffer.from(vector.secret, 'hex'))
      assert.equal(Buffer.from(identity.publicKey).toString('hex'), vector.public)
      assert.equal(identity.sign(Buffer.from(vector.message, 'hex')).toString('hex'), vector.signature)
    }
  })

  it('signs what OpenSSL and @noble/ed25519 verify, and verifies what each of them signs', () => {
    for (let i = 0; i < 20; i++) {
      const secret = ed.utils.randomSecretKey()
      const identity = Identity.fromSecretKey(secret)
      const message = crypto.randomBytes(i * 7)
      const ours = identity.sign(message)
      const privateKey = crypto.createPrivateKey(identity.toPem())
      assert.equal(ed.verify(ours, message, identity.publicKey), true, 'noble verifies our signature')
      assert.equal(crypto.verify(null, message, crypto.createPublicKey(privateKey), ours), true, 'OpenSSL verifies our signature')
      const noble = ed.sign(message, secret)
      const openssl = crypto.sign(null, message, privateKey)
      assert.equal(verifySignature(identity.publicKey, message, noble), true, 'we verify the noble signature')
      assert.equal(verifySignature(identity.publicKey, message, openssl), true, 'we verify the OpenSSL signature')
      assert.deepEqual(Buffer.from(noble), ours, 'Ed25519 is deterministic: all sign the same bytes')
      assert.deepEqual(openssl, ours, 'Ed25519 is deterministic: all sign the same bytes')
    }
  })

  it('refuses a tampered message, signature or key without throwing', () => {
    const identity = Identity.generate()
    const other = Identity.generate()
    const message = Buffer.from('binding')
    const signature = identity.sign(message)
    assert.equal(verifySignature(identity.publicKey, message, signature), true)
    assert.equal(verifySignature(identity.publicKey, Buffer.from('bindinG'), signature), false)
    assert.equal(verifySignature(other.publicKey, message, signature), false)
    const flipped = Buffer.from(signature)
    flipped[10] = (flipped[10] as number) ^ 1
    assert.equal(verifySignature(identity.publicKey, message, flipped), false)
    assert.equal(verifySignature(identity.publicKey.subarray(0, 31), message, signature), false, 'a short key')
    assert.equal(verifySignature(identity.publicKey, message, signature.subarray(0, 63)), false, 'a short signature')
    assert.equal(verifySignature(Buffer.alloc(32, 0xff), message, signature), false, 'bytes that are no curve point')
    // The neutral element as key and as R, with S = 0, satisfies the plain RFC 8032
    // equation for every message: OpenSSL 3.0 accepts it, libsodium does not.
    const neutral = Buffer.alloc(32)
    neutral[0] = 1
    const anyMessage = Buffer.concat([neutral, Buffer.alloc(32)])
    assert.equal(verifySignature(neutral, message, anyMessage), false, 'a small-order key, whose forgery would hold for any message')
  })

  it('round-trips through PKCS#8 PEM that OpenSSL reads as an Ed25519 key', () => {
    const identity = Identity.generate()
    const pem = identity.toPem()
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/)
    assert.equal(crypto.createPrivateKey(pem).asymmetricKeyType, 'ed25519')
    const again = Identity.fromPem(pem)
    assert.equal(again.nodeId, identity.nodeId)
    const message = Buffer.from('same key')
    assert.deepEqual(again.sign(message), identity.sign(message))
  })

  it('refuses PEM that is not an Ed25519 private key: OVL_IDENTITY_INVALID', () => {
    const pems: Array<[string, string]> = [
      ['garbage', 'not a key'],
      ['an RSA key', crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
      ['a P-256 key', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
      ['an X25519 key', crypto.generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
      ['a public key', crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ]
    for (const [what, pem] of pems) assert.throws(() => Identity.fromPem(pem), { code: 'OVL_IDENTITY_INVALID' }, what)
    assert.throws(() => Identity.fromSecretKey(new Uint8Array(31)), { code: 'OVL_IDENTITY_INVALID' })
  })

  it('keeps the private key out of JSON and inspection', () => {
    const identity = Identity.generate()
    const secretB64 = crypto.createPrivateKey(identity.toPem()).export({ format: 'jwk' }).d as string
    assert.deepEqual(JSON.parse(JSON.stringify(identity)), { nodeId: identity.nodeId })
    const shown = util.inspect(identity, { depth: 5, showHidden: true })
    assert.ok(!shown.includes(secretB64) && !shown.includes('PRIVATE KEY'), shown)
  })

  describe('identity files', () => {
    it('writes the file with mode 0600, even under a permissive umask', async (t) => {
      const file = path.join(await scratchDir(t), 'identity.pem')
      const previous = process.umask(0o000)
      try {
        await Identity.generate().save(file)
      } finally {
        process.umask(previous)
      }
      assert.equal(await fileMode(file), 0o600)
    })

    it('loads what it saved', async (t) => {
      const file = path.join(await scratchDir(t), 'identity.pem')
      const identity = Identity.generate()
      await identity.save(file)
      assert.equal((await Identity.load(file)).nodeId, identity.nodeId)
    })

    it('refuses to overwrite an identity unless forced: OVL_FILE_EXISTS', async (t) => {
      const file = path.join(await scratchDir(t), 'identity.pem')
      const first = Identity.generate()
      await first.save(file)
      await assert.rejects(Identity.generate().save(file), { code: 'OVL_FILE_EXISTS' })
      assert.equal((await Identity.load(file)).nodeId, first.nodeId, 'the first identity is intact')
      const second = Identity.generate()
      await second.save(file, { force: true })
      assert.equal((await Identity.load(file)).nodeId, second.nodeId)
      assert.equal(await fileMode(file), 0o600)
    })

    it('refuses to load a file that others can read: OVL_IDENTITY_INVALID', async (t) => {
      const file = path.join(await scratchDir(t), 'identity.pem')
      await Identity.generate().save(file)
      for (const mode of [0o640, 0o604, 0o660, 0o644, 0o610]) {
        await fs.chmod(file, mode)
        await assert.rejects(Identity.load(file), { code: 'OVL_IDENTITY_INVALID' }, `mode ${mode.toString(8)}`)
      }
      await fs.chmod(file, 0o400)
      await assert.doesNotReject(Identity.load(file), 'read-only for the owner is fine')
    })

    it('refuses a missing file and a file that is no key: OVL_IDENTITY_INVALID', async (t) => {
      const dir = await scratchDir(t)
      await assert.rejects(Identity.load(path.join(dir, 'missing.pem')), { code: 'OVL_IDENTITY_INVALID' })
      const junk = path.join(dir, 'junk.pem')
      await fs.writeFile(junk, 'hello', { mode: 0o600 })
      await assert.rejects(Identity.load(junk), { code: 'OVL_IDENTITY_INVALID' })
    })
  })
})
