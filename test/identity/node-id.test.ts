/**
 * Node ids: a 32-byte Ed25519 public key in lowercase RFC 4648 base32 without
 * padding, 52 characters; one spelling per key.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Identity } from '../../src/identity/identity.js'
import { base32Decode, base32Encode, isNodeId, NODE_ID_LENGTH, nodeIdFromPublicKey, publicKeyFromNodeId, shortId } from '../../src/identity/node-id.js'
import { SeededRandom } from '../helpers/rogue.js'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

describe('base32', () => {
  it('matches the RFC 4648 test vectors (lowercase, no padding)', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ]
    for (const [plain, encoded] of vectors) {
      assert.equal(base32Encode(Buffer.from(plain)), encoded)
      assert.deepEqual(Buffer.from(base32Decode(encoded) ?? []), Buffer.from(plain))
    }
  })

  it('round-trips random bytes of every length up to 64', () => {
    const random = new SeededRandom(32)
    for (let length = 0; length <= 64; length++) {
      for (let i = 0; i < 20; i++) {
        const bytes = random.bytes(length)
        const text = base32Encode(bytes)
        assert.equal(text.length, Math.ceil((length * 8) / 5))
        assert.match(text, /^[a-z2-7]*$/)
        assert.deepEqual(Buffer.from(base32Decode(text) ?? [0xde, 0xad]), bytes, `${length} bytes: ${text}`)
      }
    }
  })

  it('refuses characters outside the alphabet', () => {
    for (const text of ['MY', 'm1', 'm0', 'm8', 'm9', 'my======', 'm y', 'mé']) assert.equal(base32Decode(text), null, text)
  })

  it('refuses a last character with stray low bits (non-canonical)', () => {
    // "f" is "my": 01100 11000; "mz" spells the same byte with a stray bit set.
    assert.equal(base32Decode('mz'), null)
    assert.equal(base32Decode('mzxr'), null)
  })

  it('refuses lengths that no byte string encodes to (1, 3 or 6 characters mod 8)', () => {
    for (const text of ['a', 'aaa', 'aaaaaa', 'aaaaaaaaa']) assert.equal(base32Decode(text), null, text)
  })
})

describe('node ids', () => {
  it('are the 52-character base32 of the public key, and give the key back', () => {
    for (let i = 0; i < 50; i++) {
      const { publicKey, nodeId } = Identity.generate()
      assert.equal(nodeId.length, NODE_ID_LENGTH)
      assert.equal(NODE_ID_LENGTH, 52)
      assert.match(nodeId, /^[a-z2-7]{52}$/)
      assert.equal(nodeIdFromPublicKey(publicKey), nodeId)
      assert.ok(isNodeId(nodeId))
      assert.deepEqual(Buffer.from(publicKeyFromNodeId(nodeId)), Buffer.from(publicKey))
    }
  })

  it('have exactly one spelling per key: every other last character is refused', () => {
    const { nodeId } = Identity.generate()
    const last = nodeId.at(-1) as string
    // 256 bits in 52 characters leaves 4 unused low bits in the last one: only 2 of 32 characters are canonical there.
    assert.equal(ALPHABET.indexOf(last) & 0x0f, 0)
    let refused = 0
    for (const ch of ALPHABET) {
      if (ch === last) continue
      const variant = nodeId.slice(0, -1) + ch
      if ((ALPHABET.indexOf(ch) & 0x0f) === 0) {
        assert.ok(isNodeId(variant), 'another key, spelled canonically')
        continue
      }
      refused++
      assert.equal(isNodeId(variant), false, variant)
      assert.throws(() => publicKeyFromNodeId(variant), { code: 'OVL_CONFIG_INVALID' }, variant)
    }
    assert.equal(refused, 30)
  })

  it('refuses ids of the wrong length or alphabet: OVL_CONFIG_INVALID', () => {
    const { nodeId } = Identity.generate()
    const bad = [
      '',
      nodeId.slice(0, 51),
      nodeId + 'a',
      nodeId.slice(0, 44), // 44 characters would decode to 27 bytes
      nodeId.toUpperCase(),
      nodeId.slice(0, 51) + '1',
      nodeId.slice(0, 50) + '==',
      ` ${nodeId.slice(1)}`,
      'urn:overlay:node:' + nodeId,
      'a'.repeat(56), // 35 bytes
    ]
    for (const id of bad) {
      assert.equal(isNodeId(id), false, JSON.stringify(id))
      assert.throws(() => publicKeyFromNodeId(id), { code: 'OVL_CONFIG_INVALID' }, JSON.stringify(id))
    }
  })

  it('are made only from 32-byte keys', () => {
    for (const length of [0, 31, 33, 64]) assert.throws(() => nodeIdFromPublicKey(new Uint8Array(length)), TypeError)
  })

  it('shorten to their first 10 characters for display', () => {
    const { nodeId } = Identity.generate()
    assert.equal(shortId(nodeId), nodeId.slice(0, 10))
  })
})
