/**
 * STUN on raw bytes, no socket: framing checks, FINGERPRINT, ERROR-CODE, and
 * the answers the server builds (sizes under the amplification cap, what
 * standard decoders read from them).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import stun from 'stun'
import { STUN_MAX_ANSWER_BYTES, STUN_MAX_MESSAGE_BYTES } from '../../src/nat/constants.js'
import { decodeAnswer, encodeBindingRequest, encodeBindingSuccess, encodeUnknownAttributes, type AnsweredRequest } from '../../src/nat/stun/codec.js'
import { rawMessage } from './support/stun-bytes.js'
import { classOf, methodOf, readAttributes, readErrorCode, readHeader, StunAttr, StunClass, StunType, type StunHeader } from '../../src/nat/stun/wire.js'

const TID = Buffer.from('0102030405060708090a0b0c', 'hex')

/** A message from its parts, with the fixed transaction id (0x42... for RFC 3489). */
function message(type: number, attributes: Array<[number, Buffer]> = [], options: { cookie?: boolean; fingerprint?: boolean } = {}): Buffer {
  return rawMessage(type, attributes, { ...options, transactionId: options.cookie === false ? Buffer.alloc(16, 0x42) : TID })
}

function header(bytes: Buffer): StunHeader {
  const h = readHeader(bytes)
  assert.ok(h.ok, `header refused: ${h.ok ? '' : h.reason}`)
  return h.value
}

function request(bytes: Buffer): AnsweredRequest {
  const h = header(bytes)
  const attrs = readAttributes(bytes, h)
  assert.ok(attrs.ok)
  return { header: h, rawTransaction: bytes.subarray(4, 20), fingerprint: attrs.value.some((a) => a.type === StunAttr.Fingerprint) }
}

describe('STUN framing (wire.ts)', () => {
  it('reads method and class from the message type', () => {
    assert.deepEqual([methodOf(0x0001), classOf(0x0001)], [1, StunClass.Request])
    assert.deepEqual([methodOf(0x0011), classOf(0x0011)], [1, StunClass.Indication])
    assert.deepEqual([methodOf(0x0101), classOf(0x0101)], [1, StunClass.Success])
    assert.deepEqual([methodOf(0x0111), classOf(0x0111)], [1, StunClass.Error])
    assert.deepEqual([methodOf(0x0003), classOf(0x0003)], [3, StunClass.Request], 'TURN Allocate')
  })

  it('takes a Binding request with the magic cookie, and an RFC 3489 one without', () => {
    const h = header(encodeBindingRequest(TID))
    assert.deepEqual([h.type, h.legacy, h.length, h.transactionId], [StunType.BindingRequest, false, 0, TID])
    assert.equal(header(message(StunType.BindingRequest, [], { cookie: false })).legacy, true)
  })

  it('refuses short, oversized, misaligned and mis-sized messages, and bytes with the top bits set', () => {
    const ok = encodeBindingRequest(TID)
    const cases: Array<[Buffer, string]> = [
      [ok.subarray(0, 19), 'stun-malformed'],
      [Buffer.concat([ok, Buffer.alloc(4)]), 'stun-malformed'], // length field says 0, 4 bytes follow
      [Buffer.alloc(STUN_MAX_MESSAGE_BYTES + 4), 'stun-too-large'],
      [Buffer.from([0xc0, ...ok.subarray(1)]), 'stun-malformed'],
    ]
    const misaligned = Buffer.concat([ok, Buffer.alloc(2)])
    misaligned.writeUInt16BE(2, 2)
    cases.push([misaligned, 'stun-malformed'])
    for (const [bytes, reason] of cases) assert.deepEqual(readHeader(bytes), { ok: false, reason })
  })

  it('walks attributes and refuses one that overruns the message', () => {
    const bytes = message(StunType.BindingRequest, [[0x8022, Buffer.from('abc')]])
    const h = header(bytes)
    const attrs = readAttributes(bytes, h)
    assert.ok(attrs.ok)
    assert.deepEqual(attrs.value.map((a) => [a.type, a.value.toString()]), [[0x8022, 'abc']])
    bytes.writeUInt16BE(40, 22) // the attribute claims 40 bytes
    assert.deepEqual(readAttributes(bytes, h), { ok: false, reason: 'stun-malformed' })
  })

  it('checks FINGERPRINT on the raw bytes, and that it comes last', () => {
    const good = message(StunType.BindingRequest, [[0x8022, Buffer.from('x')]], { fingerprint: true })
    assert.ok(readAttributes(good, header(good)).ok)
    const flipped = Buffer.from(good)
    flipped[flipped.length - 1]! ^= 1
    assert.deepEqual(readAttributes(flipped, header(flipped)), { ok: false, reason: 'stun-bad-fingerprint' })
    const notLast = message(StunType.BindingRequest, [[StunAttr.Fingerprint, Buffer.alloc(4)], [0x8022, Buffer.from('x')]])
    assert.deepEqual(readAttributes(notLast, header(notLast)), { ok: false, reason: 'stun-malformed' })
  })

  it('reads ERROR-CODE from the bytes (the codec 2.1.0 decodes 420 as 480)', () => {
    const value = Buffer.from([0, 0, 4, 20, ...Buffer.from('Unknown Attribute')])
    assert.deepEqual(readErrorCode(value), { code: 420, reason: 'Unknown Attribute' })
    assert.equal(readErrorCode(Buffer.from([0, 0, 2, 0])), null, 'class 2 is no error')
    assert.equal(readErrorCode(Buffer.from([0, 0, 4])), null)
  })
})

describe('STUN answers (codec.ts)', () => {
  const mapped = { host: '198.51.100.7', port: 40_001 }

  it('answers an RFC 5389 request with XOR-MAPPED-ADDRESS in 32 bytes, 40 with FINGERPRINT', () => {
    const plain = encodeBindingSuccess(request(encodeBindingRequest(TID)), mapped)
    assert.equal(plain.length, 32)
    const decoded = stun.decode(plain)
    assert.deepEqual(decoded.getXorAddress(), { address: mapped.host, port: mapped.port, family: 'IPv4' })
    assert.deepEqual(decoded.transactionId, TID)

    const withFp = encodeBindingSuccess(request(message(StunType.BindingRequest, [], { fingerprint: true })), mapped)
    assert.equal(withFp.length, 40)
    assert.ok(stun.validateFingerprint(stun.decode(withFp)))
  })

  it('answers an RFC 3489 request with MAPPED-ADDRESS and its whole 16-byte transaction id', () => {
    const legacy = message(StunType.BindingRequest, [[StunAttr.ChangeRequest, Buffer.alloc(4)]], { cookie: false })
    const answer = encodeBindingSuccess(request(legacy), mapped)
    assert.equal(answer.length, 32)
    assert.deepEqual(answer.subarray(4, 20), legacy.subarray(4, 20))
    assert.deepEqual(stun.decode(answer).getAddress(), { address: mapped.host, port: mapped.port, family: 'IPv4' })
  })

  it('a 420 answer names at most two attributes and stays under the cap', () => {
    const req = request(message(StunType.BindingRequest, [[0x0027, Buffer.alloc(4)], [0x0030, Buffer.alloc(0)], [0x0031, Buffer.alloc(0)]], { fingerprint: true }))
    const answer = encodeUnknownAttributes(req, [0x0027, 0x0030, 0x0031])
    assert.ok(answer.length <= STUN_MAX_ANSWER_BYTES, `${answer.length} bytes`)
    const h = header(answer)
    const attrs = readAttributes(answer, h)
    assert.ok(attrs.ok)
    assert.deepEqual(decodeAnswer(answer, h, attrs.value), { kind: 'error', code: 420, reason: 'Unknown Attribute' })
    assert.deepEqual(stun.decode(answer).getAttribute(StunAttr.UnknownAttributes)?.value, [0x0027, 0x0030])
  })

  it('decodes success answers with either address attribute, and says what is missing', () => {
    const viaXor = encodeBindingSuccess(request(encodeBindingRequest(TID)), mapped)
    const h = header(viaXor)
    assert.deepEqual(decodeAnswer(viaXor, h, []), { kind: 'success', mapped, attribute: 'xor-mapped-address' })
    const plain = stun.createMessage(StunType.BindingSuccess, TID)
    plain.addAddress(mapped.host, mapped.port)
    const bytes = plain.toBuffer()
    assert.deepEqual(decodeAnswer(bytes, header(bytes), []), { kind: 'success', mapped, attribute: 'mapped-address' })
    const empty = message(StunType.BindingSuccess)
    assert.equal(decodeAnswer(empty, header(empty), []).kind, 'invalid')
  })
})
