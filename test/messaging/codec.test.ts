/**
 * The message codec and the bounds-checked reader/writer under it, on raw
 * bytes: round trips of every message type, refusals with typed errors, and a
 * seeded fuzz that must never raise anything but an OverlayError.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OverlayError } from '../../src/errors.js'
import { BinaryReader, BinaryWriter } from '../../src/messaging/binary.js'
import { decodeMessage, encodeMessage, messageCodec } from '../../src/messaging/codec.js'
import { MessageType, type Message } from '../../src/messaging/messages.js'
import { SeededRandom } from '../helpers/rogue.js'

/** Examples of every message type; the Record makes a new type without examples a compile error. */
const EXAMPLES: Record<MessageType, Message[]> = {
  [MessageType.Ping]: [0, 1, 0x7fffffff, 0xffffffff].map((seq) => ({ type: MessageType.Ping, seq })),
  [MessageType.Pong]: [0, 42, 0xffffffff].map((seq) => ({ type: MessageType.Pong, seq })),
  [MessageType.Chat]: ['', 'hello', 'grüße, 你好, 👋🏽', '\u0000 nul and \uFEFF bom', 'x'.repeat(65_535), '€'.repeat(21_845)].map((text) => ({
    type: MessageType.Chat,
    text,
  })),
}

const KNOWN_TYPES = Object.keys(EXAMPLES).map(Number) as MessageType[]

function assertOverlayError(fn: () => unknown, codes: string[]): void {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof OverlayError, `threw ${String(err)} instead of an OverlayError`)
    assert.ok(codes.includes(err.code), `unexpected code ${err.code}`)
    return
  }
}

describe('message codec', () => {
  for (const type of KNOWN_TYPES) {
    it(`round-trips ${MessageType[type]} (0x${type.toString(16)})`, () => {
      for (const message of EXAMPLES[type]) {
        const { type: wireType, body } = encodeMessage(message)
        assert.equal(wireType, type)
        assert.deepEqual(decodeMessage(wireType, Buffer.from(body)), message)
        assert.deepEqual(messageCodec.decode(wireType, Buffer.from(messageCodec.encode(message).body)), message)
      }
    })
  }

  it('lays bodies out as docs/protocol.md says', () => {
    assert.deepEqual(encodeMessage({ type: MessageType.Ping, seq: 0x01020304 }).body, Buffer.from([1, 2, 3, 4]))
    assert.deepEqual(encodeMessage({ type: MessageType.Pong, seq: 7 }).body, Buffer.from([0, 0, 0, 7]))
    assert.deepEqual(encodeMessage({ type: MessageType.Chat, text: 'hé' }).body, Buffer.from([0, 3, 0x68, 0xc3, 0xa9]))
  })

  it('numbers messages from 0x10 up, clear of the session frames', () => {
    for (const type of KNOWN_TYPES) assert.ok(type >= 0x10 && type <= 0xff)
  })

  it('refuses to encode a CHAT longer than a u16 length can say', () => {
    assert.throws(() => encodeMessage({ type: MessageType.Chat, text: 'x'.repeat(65_536) }))
  })

  it('refuses unknown types: OVL_MESSAGE_UNKNOWN_TYPE', () => {
    for (let type = 0; type <= 0xff; type++) {
      if (KNOWN_TYPES.includes(type)) continue
      assert.throws(() => decodeMessage(type, Buffer.from([0, 0, 0, 1])), { code: 'OVL_MESSAGE_UNKNOWN_TYPE' }, `type 0x${type.toString(16)}`)
    }
  })

  it('refuses truncated bodies: OVL_FRAME_MALFORMED', () => {
    for (const type of KNOWN_TYPES) {
      for (const message of EXAMPLES[type]) {
        const body = Buffer.from(encodeMessage(message).body)
        for (const cut of new Set([0, 1, body.length - 1].filter((n) => n >= 0 && n < body.length))) {
          assert.throws(() => decodeMessage(type, body.subarray(0, cut)), { code: 'OVL_FRAME_MALFORMED' }, `${MessageType[type]} cut to ${cut} bytes`)
        }
      }
    }
  })

  it('refuses trailing bytes: OVL_FRAME_MALFORMED', () => {
    for (const type of KNOWN_TYPES) {
      const body = Buffer.concat([encodeMessage(EXAMPLES[type][0] as Message).body, Buffer.from([0])])
      assert.throws(() => decodeMessage(type, body), { code: 'OVL_FRAME_MALFORMED' }, MessageType[type])
    }
  })

  it('refuses a CHAT that is not valid UTF-8: OVL_FRAME_MALFORMED', () => {
    assert.throws(() => decodeMessage(MessageType.Chat, Buffer.from([0, 2, 0xc3, 0x28])), { code: 'OVL_FRAME_MALFORMED' })
  })

  describe('fuzz (seeded, reproducible)', () => {
    const random = new SeededRandom(0xc0dec)

    /** A random body; one in four is shaped like a CHAT (a length prefix that fits) to reach deeper paths. */
    function randomBody(): Buffer {
      const body = random.bytes(random.int(48))
      if (random.int(4) === 0 && body.length >= 3) body.writeUInt16BE(body.length - 2 - random.int(2), 0)
      return body
    }

    function decodeOrRefuse(type: number, body: Buffer): Message | null {
      try {
        return decodeMessage(type, body)
      } catch (err) {
        assert.ok(err instanceof OverlayError, `type 0x${type.toString(16)}, body ${body.toString('hex')}: threw ${String(err)}`)
        assert.ok(['OVL_FRAME_MALFORMED', 'OVL_MESSAGE_UNKNOWN_TYPE'].includes(err.code), err.code)
        return null
      }
    }

    for (const type of KNOWN_TYPES) {
      it(`10,000 random ${MessageType[type]} bodies: a message that re-encodes to the same bytes, or an OverlayError`, () => {
        let decoded = 0
        for (let i = 0; i < 10_000; i++) {
          const body = randomBody()
          const message = decodeOrRefuse(type, body)
          if (message === null) continue
          decoded++
          assert.deepEqual(Buffer.from(encodeMessage(message).body), body, 'the encoding is canonical')
        }
        assert.ok(decoded > 0, 'the fuzz reached the success path')
      })
    }

    it('10,000 random types and bodies: never anything but an OverlayError', () => {
      for (let i = 0; i < 10_000; i++) decodeOrRefuse(random.int(256), randomBody())
    })

    it('decoding never throws anything else for any single-byte body of any type', () => {
      for (let type = 0; type <= 0xff; type++) {
        for (let byte = 0; byte <= 0xff; byte += 17) assertOverlayError(() => decodeMessage(type, Buffer.from([byte])), ['OVL_FRAME_MALFORMED', 'OVL_MESSAGE_UNKNOWN_TYPE'])
      }
    })
  })
})

describe('BinaryReader', () => {
  function text(bytes: number[]): string {
    return new BinaryReader(Buffer.concat([Buffer.from([0, bytes.length]), Buffer.from(bytes)])).string()
  }

  it('reads valid UTF-8, including 4-byte sequences, NUL and a BOM', () => {
    assert.equal(text([0x68, 0x69]), 'hi')
    assert.equal(text([0xf0, 0x9f, 0x91, 0x8b]), '👋')
    assert.equal(text([0x00]), '\u0000')
    assert.equal(text([0xef, 0xbb, 0xbf, 0x41]), '\uFEFFA')
  })

  it('refuses invalid UTF-8 instead of passing replacement characters on: OVL_FRAME_MALFORMED', () => {
    const invalid: Array<[string, number[]]> = [
      ['a lone continuation byte', [0x80]],
      ['an overlong NUL', [0xc0, 0x80]],
      ['an overlong slash', [0xe0, 0x80, 0xaf]],
      ['a truncated 3-byte sequence', [0xe2, 0x82]],
      ['a truncated 4-byte sequence at the end', [0x41, 0xf0, 0x9f, 0x91]],
      ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
      ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
      ['0xff', [0xff]],
      ['0xfe', [0xfe]],
      ['a start byte followed by ASCII', [0xc3, 0x28]],
    ]
    for (const [what, bytes] of invalid) assert.throws(() => text(bytes), { code: 'OVL_FRAME_MALFORMED' }, what)
  })

  it('accepts a U+FFFD that really was in the input', () => {
    assert.equal(text([0xef, 0xbf, 0xbd]), '\uFFFD')
  })

  it('refuses trailing bytes at end(): OVL_FRAME_MALFORMED', () => {
    const reader = new BinaryReader(Buffer.from([1, 2, 3]))
    reader.u16()
    assert.throws(() => reader.end(), { code: 'OVL_FRAME_MALFORMED' })
    reader.u8()
    assert.doesNotThrow(() => reader.end())
  })

  it('refuses every read past the end: OVL_FRAME_MALFORMED', () => {
    // Each read gets one byte less than it needs (length prefixes announce one byte more than there is).
    const reads: Array<[string, Buffer, (r: BinaryReader) => unknown]> = [
      ['u8', Buffer.alloc(0), (r) => r.u8()],
      ['u16', Buffer.alloc(1), (r) => r.u16()],
      ['u32', Buffer.alloc(3), (r) => r.u32()],
      ['u64', Buffer.alloc(7), (r) => r.u64()],
      ['fixed', Buffer.alloc(31), (r) => r.fixed(32)],
      ['bytes16', Buffer.from([0, 2, 1]), (r) => r.bytes16()],
      ['bytes32', Buffer.from([0, 0, 0, 2, 1]), (r) => r.bytes32()],
      ['string', Buffer.from([0, 2, 0x41]), (r) => r.string()],
      ['a u16 length prefix', Buffer.alloc(1), (r) => r.bytes16()],
    ]
    for (const [what, bytes, read] of reads) {
      assert.throws(() => read(new BinaryReader(bytes)), { code: 'OVL_FRAME_MALFORMED' }, what)
    }
  })

  it('checks a length prefix against the bytes present, whatever it announces', () => {
    assert.throws(() => new BinaryReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2])).bytes32(), { code: 'OVL_FRAME_MALFORMED' })
    assert.throws(() => new BinaryReader(Buffer.from([0xff, 0xff, 1])).bytes16(), { code: 'OVL_FRAME_MALFORMED' })
  })

  it('refuses a u64 above Number.MAX_SAFE_INTEGER and reads one at it', () => {
    const max = Buffer.alloc(8)
    max.writeBigUInt64BE(BigInt(Number.MAX_SAFE_INTEGER))
    assert.equal(new BinaryReader(max).u64(), Number.MAX_SAFE_INTEGER)
    const above = Buffer.alloc(8)
    above.writeBigUInt64BE(BigInt(Number.MAX_SAFE_INTEGER) + 1n)
    assert.throws(() => new BinaryReader(above).u64(), { code: 'OVL_FRAME_MALFORMED' })
  })
})

describe('BinaryWriter', () => {
  it('writes every field kind big-endian and reads back the same, growing from one byte', () => {
    const key = Buffer.alloc(32, 9)
    const bytes = new BinaryWriter(1)
      .u8(0xab)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .u64(Number.MAX_SAFE_INTEGER)
      .fixed(key)
      .bytes16(Buffer.from([1, 2]))
      .bytes32(Buffer.alloc(300, 3))
      .string('naïve')
      .finish()
    assert.deepEqual(bytes.subarray(0, 7), Buffer.from([0xab, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef]))
    const r = new BinaryReader(bytes)
    assert.equal(r.u8(), 0xab)
    assert.equal(r.u16(), 0xbeef)
    assert.equal(r.u32(), 0xdeadbeef)
    assert.equal(r.u64(), Number.MAX_SAFE_INTEGER)
    assert.deepEqual(r.fixed(32), key)
    assert.deepEqual(r.bytes16(), Buffer.from([1, 2]))
    assert.deepEqual(r.bytes32(), Buffer.alloc(300, 3))
    assert.equal(r.string(), 'naïve')
    r.end()
  })

  it('refuses a u16-prefixed field longer than 65535 bytes', () => {
    assert.throws(() => new BinaryWriter().bytes16(Buffer.alloc(65_536)), RangeError)
  })
})
