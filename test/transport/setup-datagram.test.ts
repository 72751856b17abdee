/**
 * Connection-setup datagrams on raw bytes: the codec (layout, sizes, what it
 * refuses), the no-amplification rule, and the stateless cookies.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { COOKIE_EPOCH_MS, CONTROL_MAGIC, PROTOCOL_VERSION, SETUP_REQUEST_BYTES } from '../../src/constants.js'
import { CookieJar } from '../../src/transport/cookie.js'
import { COOKIE_BYTES, ControlType, decodeSetup, encodeSetup, isSetupType, NONCE_BYTES, RejectReason, type SetupDatagram } from '../../src/transport/setup-datagram.js'
import { SeededRandom } from '../helpers/rogue.js'

const nonce = Buffer.from('0123456789abcdef', 'hex')
const cookie = Buffer.from('00112233445566778899aabbccddeeff', 'hex')

/** One of each, with the size the protocol gives it. */
const EXAMPLES: Array<{ message: SetupDatagram; size: number }> = [
  { message: { type: ControlType.SetupRequest, streamId: 0x01020304, nonce }, size: 64 },
  { message: { type: ControlType.SetupCookie, streamId: 0xfffffffe, nonce, cookie }, size: 32 },
  { message: { type: ControlType.SetupConfirm, streamId: 1, nonce, cookie }, size: 64 },
  { message: { type: ControlType.SetupAccept, streamId: 7, nonce, listenerStreamId: 0xffffffff }, size: 20 },
  { message: { type: ControlType.SetupReject, streamId: 7, nonce, reason: RejectReason.Busy }, size: 17 },
  { message: { type: ControlType.SetupReject, streamId: 7, nonce, reason: RejectReason.Closing }, size: 17 },
]

/** The replies a listener or dialer may send to each datagram type that draws one. */
const REPLIES: Array<{ to: ControlType; replies: ControlType[] }> = [
  { to: ControlType.SetupRequest, replies: [ControlType.SetupCookie, ControlType.SetupReject] },
  { to: ControlType.SetupConfirm, replies: [ControlType.SetupAccept, ControlType.SetupReject] },
]

function example(type: ControlType): Buffer {
  const found = EXAMPLES.find((e) => e.message.type === type)
  assert.ok(found)
  return encodeSetup(found.message)
}

describe('setup datagram codec', () => {
  for (const { message, size } of EXAMPLES) {
    it(`round-trips ${ControlType[message.type]}${message.type === ControlType.SetupReject ? ` (${RejectReason[message.reason]})` : ''} in ${size} bytes`, () => {
      const bytes = encodeSetup(message)
      assert.equal(bytes.length, size)
      assert.deepEqual([bytes[0], bytes[1], bytes[2], bytes[3]], [CONTROL_MAGIC, PROTOCOL_VERSION, message.type, 0])
      assert.equal(bytes.readUInt32BE(4), message.streamId)
      assert.deepEqual(bytes.subarray(8, 8 + NONCE_BYTES), nonce)
      assert.deepEqual(decodeSetup(bytes), message)
    })
  }

  it('pads REQUEST and CONFIRM with zeros to SETUP_REQUEST_BYTES', () => {
    assert.equal(SETUP_REQUEST_BYTES, 64)
    assert.ok(example(ControlType.SetupRequest).subarray(16).every((b) => b === 0))
    assert.ok(example(ControlType.SetupConfirm).subarray(16 + COOKIE_BYTES).every((b) => b === 0))
  })

  it('refuses every type at every length but its own', () => {
    for (const { message, size } of EXAMPLES) {
      const bytes = encodeSetup(message)
      for (let length = 0; length <= 128; length++) {
        if (length === size) continue
        const resized = Buffer.alloc(length)
        bytes.copy(resized, 0, 0, Math.min(length, size))
        assert.equal(decodeSetup(resized), null, `${ControlType[message.type]} of ${length} bytes`)
      }
    }
  })

  it('refuses another magic byte, another version, stream id 0 and unknown types', () => {
    for (const { message } of EXAMPLES) {
      const bytes = encodeSetup(message)
      const wrong = (offset: number, value: number): Buffer => {
        const copy = Buffer.from(bytes)
        copy[offset] = value
        return copy
      }
      assert.equal(decodeSetup(wrong(0, 0xa4)), null)
      assert.equal(decodeSetup(wrong(1, PROTOCOL_VERSION + 1)), null)
      assert.equal(decodeSetup(wrong(1, 0)), null)
      const zeroId = Buffer.from(bytes)
      zeroId.writeUInt32BE(0, 4)
      assert.equal(decodeSetup(zeroId), null, `${ControlType[message.type]} with stream id 0`)
    }
    for (const type of [0, 6, 0x7f, 0xff]) {
      const bytes = Buffer.from(example(ControlType.SetupRequest))
      bytes[2] = type
      assert.equal(decodeSetup(bytes), null, `type ${type}`)
      assert.equal(isSetupType(type), false)
    }
    assert.equal(isSetupType(undefined), false)
    for (let type = ControlType.SetupRequest; type <= ControlType.SetupReject; type++) assert.equal(isSetupType(type), true)
  })

  it('refuses an ACCEPT naming listener stream 0 and a REJECT with an unknown reason', () => {
    const accept = example(ControlType.SetupAccept)
    accept.writeUInt32BE(0, 16)
    assert.equal(decodeSetup(accept), null)
    for (const reason of [0, 3, 0xff]) {
      const reject = example(ControlType.SetupReject)
      reject[16] = reason
      assert.equal(decodeSetup(reject), null, `reason ${reason}`)
    }
  })

  it('never throws on random input, and what it accepts re-encodes to the same message', () => {
    const random = new SeededRandom(0x5e7)
    const sizes: Record<number, number> = { 1: 64, 2: 32, 3: 64, 4: 20, 5: 17 }
    let decoded = 0
    for (let i = 0; i < 20_000; i++) {
      let bytes: Buffer
      if (i % 2 === 0) {
        bytes = random.bytes(random.int(80)) // anything at all
      } else {
        // A valid header and the right size for its type, so the type-specific checks run.
        const type = 1 + random.int(5)
        bytes = random.bytes(sizes[type] as number)
        bytes[0] = CONTROL_MAGIC
        bytes[1] = PROTOCOL_VERSION
        bytes[2] = type
        if (type === ControlType.SetupReject) bytes[16] = random.int(4)
      }
      const message = decodeSetup(bytes)
      if (message === null) continue
      decoded++
      const again = encodeSetup(message)
      assert.equal(again.length, bytes.length)
      assert.deepEqual(decodeSetup(again), message)
    }
    assert.ok(decoded > 5_000, `the fuzz reached the decoders' success paths (${decoded} decoded)`)
  })
})

describe('no amplification', () => {
  it('every reply is smaller than the smallest datagram that can draw it', () => {
    for (const { to, replies } of REPLIES) {
      const request = example(to)
      for (const reply of replies) {
        assert.ok(example(reply).length <= request.length, `${ControlType[reply]} (${example(reply).length} B) answers ${ControlType[to]} (${request.length} B)`)
      }
    }
  })

  it('a datagram that draws a reply decodes only at the full padded size', () => {
    for (const { to } of REPLIES) {
      for (let length = 0; length < SETUP_REQUEST_BYTES; length++) {
        const short = example(to).subarray(0, length)
        assert.equal(decodeSetup(short), null, `${ControlType[to]} of ${length} bytes draws nothing`)
      }
    }
  })
})

describe('CookieJar', () => {
  function clock(start: number): { now: () => number; set: (ms: number) => void } {
    let time = start
    return { now: () => time, set: (ms) => (time = ms) }
  }

  it('accepts a cookie in the epoch it was made in', () => {
    const time = clock(10 * COOKIE_EPOCH_MS)
    const jar = new CookieJar(time.now)
    const made = jar.make('127.0.0.1', 4000, 42, nonce)
    assert.equal(made.length, COOKIE_BYTES)
    time.set(11 * COOKIE_EPOCH_MS - 1)
    assert.equal(jar.check(made, '127.0.0.1', 4000, 42, nonce), true)
  })

  it('accepts it in the next epoch and refuses it two epochs on', () => {
    const time = clock(10 * COOKIE_EPOCH_MS + COOKIE_EPOCH_MS - 1) // the last millisecond of epoch 10
    const jar = new CookieJar(time.now)
    const made = jar.make('127.0.0.1', 4000, 42, nonce)
    time.set(11 * COOKIE_EPOCH_MS + COOKIE_EPOCH_MS - 1) // the last millisecond of epoch 11
    assert.equal(jar.check(made, '127.0.0.1', 4000, 42, nonce), true, 'good in the next epoch')
    time.set(12 * COOKIE_EPOCH_MS) // the first millisecond of epoch 12
    assert.equal(jar.check(made, '127.0.0.1', 4000, 42, nonce), false, 'stale two epochs on')
  })

  it('refuses a cookie from the future (a clock that went back) rather than trusting it', () => {
    const time = clock(20 * COOKIE_EPOCH_MS)
    const jar = new CookieJar(time.now)
    const made = jar.make('127.0.0.1', 4000, 42, nonce)
    time.set(19 * COOKIE_EPOCH_MS)
    assert.equal(jar.check(made, '127.0.0.1', 4000, 42, nonce), false)
  })

  it('binds the cookie to the source address, port, stream id and nonce', () => {
    const jar = new CookieJar(() => 5 * COOKIE_EPOCH_MS)
    const made = jar.make('127.0.0.1', 4000, 42, nonce)
    assert.equal(jar.check(made, '127.0.0.2', 4000, 42, nonce), false, 'another host')
    assert.equal(jar.check(made, '127.0.0.1', 4001, 42, nonce), false, 'another port')
    assert.equal(jar.check(made, '127.0.0.1', 4000, 43, nonce), false, 'another stream id')
    const otherNonce = Buffer.from(nonce)
    otherNonce[7] = (otherNonce[7] as number) ^ 1
    assert.equal(jar.check(made, '127.0.0.1', 4000, 42, otherNonce), false, 'another nonce')
    // Fields are separated: "1.2.3.4" port 56 is not "1.2.3.45" port 6.
    const a = jar.make('1.2.3.4', 56, 7, nonce)
    assert.equal(jar.check(a, '1.2.3.45', 6, 7, nonce), false)
  })

  it("refuses another jar's cookie (each process has its own secret)", () => {
    const now = (): number => 5 * COOKIE_EPOCH_MS
    const made = new CookieJar(now).make('127.0.0.1', 4000, 42, nonce)
    assert.equal(new CookieJar(now).check(made, '127.0.0.1', 4000, 42, nonce), false)
  })

  it('refuses a cookie of the wrong length or with any bit flipped, without throwing', () => {
    const jar = new CookieJar(() => 5 * COOKIE_EPOCH_MS)
    const made = jar.make('127.0.0.1', 4000, 42, nonce)
    for (const length of [0, 1, COOKIE_BYTES - 1, COOKIE_BYTES + 1, 32]) {
      const bad = Buffer.alloc(length)
      made.copy(bad, 0, 0, Math.min(length, COOKIE_BYTES))
      assert.equal(jar.check(bad, '127.0.0.1', 4000, 42, nonce), false, `${length} bytes`)
    }
    for (let bit = 0; bit < COOKIE_BYTES * 8; bit++) {
      const bad = Buffer.from(made)
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7))
      assert.equal(jar.check(bad, '127.0.0.1', 4000, 42, nonce), false, `bit ${bit}`)
    }
  })
})
