/**
 * The message codec and the bounds-checked reader/writer under it, on raw
 * bytes: round trips of every message type, refusals with typed errors, and a
 * seeded fuzz that must never raise anything but an OverlayError.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OverlayError } from '../../src/errors.js'
import { BinaryReader, BinaryWriter } from '../../src/util/binary.js'
import { decodeMessage, encodeMessage, messageCodec } from '../../src/messaging/codec.js'
import { MAX_RECORDS_PER_EXCHANGE } from '../../src/constants.js'
import { Identity } from '../../src/identity/identity.js'
import { AckStatus, BroadcastKind, MessageType, RelayOp, RoutedKind, type Message } from '../../src/messaging/messages.js'
import { AddressKind, NatType, RecordFlags, signRecord } from '../../src/messaging/peer-record.js'
import { signBroadcast, signRouted } from '../../src/messaging/signed.js'
import { SeededRandom } from '../helpers/rogue.js'

const alice = Identity.generate()
const bob = Identity.generate()
const record = signRecord(alice, {
  name: 'alice',
  nat: NatType.Easy,
  flags: RecordFlags.Relay,
  seq: 1_700_000_000_000,
  addresses: [
    { kind: AddressKind.Local, address: '198.19.1.2:9000' },
    { kind: AddressKind.Reflexive, address: '198.18.0.7:41234' },
  ],
})
const bare = signRecord(bob, { name: 'b', nat: NatType.Unknown, flags: 0, seq: 1, addresses: [] })
const broadcast = signBroadcast(alice, { seq: 1_700_000_000_000_000, kind: BroadcastKind.Chat, payload: Buffer.from('to everyone') })
const routed = signRouted(alice, { target: bob.nodeId, id: '0102030405060708', kind: RoutedKind.Chat, payload: Buffer.from('psst') })

/** Examples of every message type; the Record makes a new type without examples a compile error. */
const EXAMPLES: Record<MessageType, Message[]> = {
  [MessageType.Hello]: [
    { type: MessageType.Hello, record, observed: '198.18.0.9:1' },
    { type: MessageType.Hello, record: bare, observed: '127.0.0.1:65535' },
  ],
  [MessageType.Ping]: [0, 1, 0x7fffffff, 0xffffffff].map((seq) => ({ type: MessageType.Ping, seq })),
  [MessageType.Pong]: [0, 42, 0xffffffff].map((seq) => ({ type: MessageType.Pong, seq })),
  [MessageType.Chat]: ['', 'hello', 'grüße, 你好, 👋🏽', '\u0000 nul and \uFEFF bom', 'x'.repeat(65_535), '€'.repeat(21_845)].map((text, i) => ({
    type: MessageType.Chat,
    id: i === 0 ? 0 : 0xffff_ffff - i,
    text,
  })),
  [MessageType.Ack]: [
    { type: MessageType.Ack, id: 1, status: AckStatus.Delivered },
    { type: MessageType.Ack, id: 0xffff_ffff, status: AckStatus.Refused },
  ],
  [MessageType.Join]: [0, 32, 255].map((want) => ({ type: MessageType.Join, want })),
  [MessageType.Peers]: [
    { type: MessageType.Peers, records: [] },
    { type: MessageType.Peers, records: [record, bare] },
    { type: MessageType.Peers, records: Array.from({ length: MAX_RECORDS_PER_EXCHANGE }, () => bare) },
  ],
  [MessageType.Leave]: ['', 'node stopped'].map((reason) => ({ type: MessageType.Leave, reason })),
  [MessageType.Broadcast]: [
    { type: MessageType.Broadcast, ...broadcast, hopLimit: 16 },
    { type: MessageType.Broadcast, ...broadcast, kind: BroadcastKind.MetricWarning, payload: Buffer.alloc(0), hopLimit: 0 },
  ],
  [MessageType.DialBack]: [{ type: MessageType.DialBack, nonce: 'cd'.repeat(16), address: '198.20.0.3:9000' }],
  [MessageType.Relay]: [
    { type: MessageType.Relay, op: RelayOp.Prepare, token: 'ab'.repeat(16), target: bob.nodeId },
    { type: MessageType.Relay, op: RelayOp.Allocated, token: '01'.repeat(16), initiatorStreamId: 1, targetStreamId: 0xffff_ffff },
    { type: MessageType.Relay, op: RelayOp.Join, token: '02'.repeat(16), streamId: 7 },
    { type: MessageType.Relay, op: RelayOp.Ready, token: '03'.repeat(16) },
    { type: MessageType.Relay, op: RelayOp.Refused, token: '04'.repeat(16), reason: 'at its limit of relayed sessions' },
  ],
  [MessageType.Routed]: [
    { type: MessageType.Routed, ...routed, hopLimit: 16 },
    { type: MessageType.Routed, ...routed, kind: RoutedKind.Ack, payload: Buffer.alloc(10), hopLimit: 1 },
  ],
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
        // The session's codec writes into a batch that already holds other frames.
        const batch = new BinaryWriter(8).fixed(Buffer.from('earlier'))
        assert.equal(messageCodec.write(batch, message), type)
        assert.deepEqual(messageCodec.decode(type, Buffer.from(batch.finish().subarray(7))), message)
      }
    })
  }

  it('lays bodies out as docs/protocol.md says', () => {
    assert.deepEqual(encodeMessage({ type: MessageType.Ping, seq: 0x01020304 }).body, Buffer.from([1, 2, 3, 4]))
    assert.deepEqual(encodeMessage({ type: MessageType.Pong, seq: 7 }).body, Buffer.from([0, 0, 0, 7]))
    assert.deepEqual(encodeMessage({ type: MessageType.Chat, id: 0x0a0b0c0d, text: 'hé' }).body, Buffer.from([10, 11, 12, 13, 0, 3, 0x68, 0xc3, 0xa9]))
    assert.deepEqual(encodeMessage({ type: MessageType.Ack, id: 7, status: AckStatus.Refused }).body, Buffer.from([0, 0, 0, 7, 1]))
    assert.deepEqual(encodeMessage({ type: MessageType.Join, want: 32 }).body, Buffer.from([32]))
    assert.deepEqual(encodeMessage({ type: MessageType.Leave, reason: 'bye' }).body, Buffer.from([0, 3, 0x62, 0x79, 0x65]))
    const b = encodeMessage({ type: MessageType.Broadcast, ...broadcast, hopLimit: 5 }).body
    // origin key (32) | seq (u64) | hop limit | kind | payload (u16 + bytes) | signature (64)
    assert.deepEqual(b.subarray(0, 32), Buffer.from(alice.publicKey))
    assert.equal(b.readBigUInt64BE(32), BigInt(broadcast.seq))
    assert.deepEqual([b[40], b[41], b.readUInt16BE(42)], [5, BroadcastKind.Chat, 11])
    assert.equal(b.length, 32 + 8 + 1 + 1 + 2 + 11 + 64)
    const r = encodeMessage({ type: MessageType.Routed, ...routed, hopLimit: 3 }).body
    // origin (32) | target (32) | id (8) | hop limit | kind | payload (u16 + bytes) | signature (64)
    assert.deepEqual(r.subarray(32, 64), Buffer.from(bob.publicKey))
    assert.equal(r.subarray(64, 72).toString('hex'), '0102030405060708')
    assert.deepEqual([r[72], r[73]], [3, RoutedKind.Chat])
  })

  it('numbers messages from 0x10 up, clear of the session frames', () => {
    for (const type of KNOWN_TYPES) assert.ok(type >= 0x10 && type <= 0xff)
  })

  it('refuses to encode a CHAT longer than a u16 length can say', () => {
    assert.throws(() => encodeMessage({ type: MessageType.Chat, id: 0, text: 'x'.repeat(65_536) }))
  })

  it(`refuses a PEERS with more than ${MAX_RECORDS_PER_EXCHANGE} records, before reading them: OVL_FRAME_MALFORMED`, () => {
    assert.throws(() => encodeMessage({ type: MessageType.Peers, records: Array.from({ length: MAX_RECORDS_PER_EXCHANGE + 1 }, () => bare) }), RangeError)
    const body = Buffer.from(encodeMessage({ type: MessageType.Peers, records: [bare] }).body)
    body[0] = MAX_RECORDS_PER_EXCHANGE + 1
    assert.throws(() => decodeMessage(MessageType.Peers, body), { code: 'OVL_FRAME_MALFORMED' })
  })

  it('refuses unknown enum values and addresses that are not IPv4 host:port: OVL_FRAME_MALFORMED', () => {
    const ack = Buffer.from(encodeMessage({ type: MessageType.Ack, id: 1, status: AckStatus.Delivered }).body)
    ack[4] = 9
    assert.throws(() => decodeMessage(MessageType.Ack, ack), { code: 'OVL_FRAME_MALFORMED' })
    for (const observed of ['localhost:9000', '1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', '::1:9000', '1.2.3.4:9000 ']) {
      const hello = Buffer.concat([encodeRecordForTest(), Buffer.from([0, Buffer.byteLength(observed)]), Buffer.from(observed)])
      assert.throws(() => decodeMessage(MessageType.Hello, hello), { code: 'OVL_FRAME_MALFORMED' }, observed)
    }
  })

  it('refuses record names and reasons with control characters, and reasons over 512 characters: OVL_FRAME_MALFORMED (they are printed to operators)', () => {
    const malformed = (message: Message): void =>
      assert.throws(() => {
        const { type, body } = encodeMessage(message)
        decodeMessage(type, body)
      }, { code: 'OVL_FRAME_MALFORMED' })
    for (const name of ['mallory\n+ fake line', 'a\x1b[2Jb', 'evil\u202e', 'tab\there']) {
      malformed({ type: MessageType.Peers, records: [signRecord(alice, { name, nat: NatType.Open, flags: 0, seq: 2, addresses: [] })] })
    }
    malformed({ type: MessageType.Leave, reason: 'bye\r\n+ fake line' })
    malformed({ type: MessageType.Leave, reason: 'x'.repeat(513) })
    malformed({ type: MessageType.Relay, op: RelayOp.Refused, token: '04'.repeat(16), reason: '\x1b]0;title\x07' })
    const { type, body } = encodeMessage({ type: MessageType.Leave, reason: 'ünïcödé ✓ 日本 🙂' })
    assert.deepEqual(decodeMessage(type, body), { type: MessageType.Leave, reason: 'ünïcödé ✓ 日本 🙂' })
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
    assert.throws(() => decodeMessage(MessageType.Chat, Buffer.from([0, 0, 0, 1, 0, 2, 0xc3, 0x28])), { code: 'OVL_FRAME_MALFORMED' })
  })

  describe('fuzz (seeded, reproducible)', () => {
    const random = new SeededRandom(0xc0dec)

    /** A valid body with a few bytes changed, cut short or grown: reaches the deep paths random bytes never do. */
    function mutant(type: MessageType): Buffer {
      const examples = EXAMPLES[type].filter((m) => encodeMessage(m).body.length < 4096)
      const body = Buffer.from(encodeMessage(examples[random.int(examples.length)] as Message).body)
      switch (random.int(4)) {
        case 0:
          return body.subarray(0, random.int(body.length + 1))
        case 1:
          return Buffer.concat([body, random.bytes(1 + random.int(8))])
        default: {
          for (let flips = 1 + random.int(3); flips > 0 && body.length > 0; flips--) body[random.int(body.length)] = random.int(256)
          return body
        }
      }
    }

    /** A random body; one in four is shaped like a length-prefixed field that fits. */
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
      it(`10,000 mutated ${MessageType[type]} bodies: a message that re-encodes to the same bytes, or an OverlayError`, () => {
        let decoded = 0
        for (let i = 0; i < 10_000; i++) {
          const body = mutant(type)
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

  it('overwrites bytes already written, and only those; truncates back to a length', () => {
    const w = new BinaryWriter(2).u32(0).u8(0).string('body')
    assert.equal(w.length, 11)
    w.setU32(0, 0x01020304).setU8(4, 0xff)
    assert.deepEqual(w.finish().subarray(0, 5), Buffer.from([1, 2, 3, 4, 0xff]))
    assert.throws(() => w.setU32(8, 1), RangeError)
    assert.throws(() => w.setU8(11, 1), RangeError)
    w.truncate(5)
    assert.equal(w.length, 5)
    assert.throws(() => w.truncate(6), RangeError)
    assert.deepEqual(w.u8(9).finish(), Buffer.from([1, 2, 3, 4, 0xff, 9]))
  })
})

function encodeRecordForTest(): Buffer {
  return Buffer.from(encodeMessage({ type: MessageType.Peers, records: [record] }).body.subarray(1))
}
