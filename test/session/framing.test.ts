/**
 * Frames: the decoder and the batching writer on raw bytes, then what an
 * authenticated rogue can do with hand-made frames on a real session (each
 * refusal closes that session with its own code; the node keeps serving).
 */
import assert from 'node:assert/strict'
import { before, describe, it, type TestContext } from 'node:test'
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION, WRITE_BATCH_BYTES } from '../../src/constants.js'
import { OverlayError, type ErrorCode } from '../../src/errors.js'
import { BinaryWriter } from '../../src/util/binary.js'
import { decodeMessage, encodeMessage } from '../../src/messaging/codec.js'
import { AckStatus, MessageType, type Message } from '../../src/messaging/messages.js'
import type { OverlayNode, OverlaySession } from '../../src/node/node.js'
import { encodeFrame, encodeFrameHeader, FrameDecoder, FrameWriter, type Frame } from '../../src/session/framing.js'
import { encodeClose, MAX_CLOSE_MESSAGE_BYTES, SessionFrame } from '../../src/session/session-frames.js'
import { isChat, startNode } from '../helpers/nodes.js'
import { testCa, testCredentials, type TestCredentials } from '../helpers/pki.js'
import { assertLocalCode, assertServes, assertToldByClose, authenticatedRogue as rogueAuthenticated, nextHandshakeFailure, RogueEndpoint, rogueDial, type RogueChannel } from '../helpers/rogue.js'
import { nextEvent, until } from '../helpers/wait.js'

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): Frame[] {
  const frames: Frame[] = []
  for (const chunk of chunks) decoder.push(chunk, (frame) => frames.push({ type: frame.type, body: Buffer.from(frame.body) }))
  return frames
}

/** A CLOSE body as a peer may write it (encodeClose cuts the message short). */
function closeBody(code: string, message: string): Buffer {
  const text = Buffer.from(message, 'utf8')
  const out = Buffer.alloc(1 + code.length + 2 + text.length)
  out[0] = code.length
  out.write(code, 1, 'ascii')
  out.writeUInt16BE(text.length, 1 + code.length)
  text.copy(out, 3 + code.length)
  return out
}

/** A frame with an arbitrary header, for the malformed cases encodeFrame cannot make. */
function rawFrame(length: number, version: number, type: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES)
  header.writeUInt32BE(length, 0)
  header[4] = version
  header[5] = type
  return Buffer.concat([header, body])
}

const SAMPLE: Frame[] = [
  { type: 0x13, body: Buffer.from('hello') },
  { type: SessionFrame.AuthOk, body: Buffer.alloc(0) },
  { type: 0x11, body: Buffer.from([0, 0, 0, 42]) },
  { type: 0x7f, body: Buffer.alloc(300, 0xab) },
]
const SAMPLE_BYTES = Buffer.concat(SAMPLE.map((f) => encodeFrame(f.type, f.body)))

describe('FrameDecoder', () => {
  it('decodes frames split across chunks at every byte boundary', () => {
    for (let cut = 0; cut <= SAMPLE_BYTES.length; cut++) {
      const frames = decodeAll(new FrameDecoder(1024), [SAMPLE_BYTES.subarray(0, cut), SAMPLE_BYTES.subarray(cut)])
      assert.deepEqual(frames, SAMPLE, `split at byte ${cut}`)
    }
  })

  it('decodes frames split into three chunks at every pair of boundaries in the headers', () => {
    // Every cut inside the first two frames (headers included), combined with every second cut.
    const limit = FRAME_HEADER_BYTES * 2 + 5
    for (let a = 0; a <= limit; a++) {
      for (let b = a; b <= SAMPLE_BYTES.length; b++) {
        const chunks = [SAMPLE_BYTES.subarray(0, a), SAMPLE_BYTES.subarray(a, b), SAMPLE_BYTES.subarray(b)]
        assert.deepEqual(decodeAll(new FrameDecoder(1024), chunks), SAMPLE, `cuts at ${a} and ${b}`)
      }
    }
  })

  it('decodes a stream fed one byte at a time', () => {
    const chunks = [...SAMPLE_BYTES].map((byte) => Buffer.from([byte]))
    assert.deepEqual(decodeAll(new FrameDecoder(1024), chunks), SAMPLE)
  })

  it('decodes many frames from one chunk, in order', () => {
    const frames = Array.from({ length: 2_000 }, (_, i) => ({ type: 0x10 + (i % 200), body: Buffer.from(`frame ${i}`) }))
    const decoded = decodeAll(new FrameDecoder(1024), [Buffer.concat(frames.map((f) => encodeFrame(f.type, f.body)))])
    assert.deepEqual(decoded, frames)
  })

  it('accepts a frame exactly at the size limit', () => {
    const body = Buffer.alloc(100 - 2, 1) // length counts version and type
    assert.deepEqual(decodeAll(new FrameDecoder(100), [encodeFrame(0x13, body)]), [{ type: 0x13, body }])
  })

  it('refuses a frame one byte over the limit: OVL_FRAME_TOO_LARGE', () => {
    assert.throws(() => decodeAll(new FrameDecoder(100), [encodeFrame(0x13, Buffer.alloc(99))]), { code: 'OVL_FRAME_TOO_LARGE' })
  })

  it('checks the size from the 4 length bytes alone, before any of the body arrives', () => {
    for (const length of [101, 2 ** 31, 0xffffffff]) {
      const header = Buffer.alloc(4)
      header.writeUInt32BE(length)
      const decoder = new FrameDecoder(100)
      assert.throws(() => decoder.push(header, () => {}), { code: 'OVL_FRAME_TOO_LARGE' }, `length ${length}`)
    }
    // The 4 bytes may come in pieces: the check runs as soon as the last one is in.
    const decoder = new FrameDecoder(100)
    decoder.push(Buffer.from([0x80, 0x00]), () => {})
    decoder.push(Buffer.from([0x00]), () => {})
    assert.throws(() => decoder.push(Buffer.from([0x00]), () => {}), { code: 'OVL_FRAME_TOO_LARGE' })
    assert.equal(decoder.bufferedBytes, 4, 'nothing beyond the length bytes was kept')
  })

  it('refuses a length shorter than the version and type bytes: OVL_FRAME_MALFORMED', () => {
    for (const length of [0, 1]) {
      assert.throws(() => decodeAll(new FrameDecoder(100), [rawFrame(length, PROTOCOL_VERSION, 0x13)]), { code: 'OVL_FRAME_MALFORMED' })
    }
  })

  it('refuses another protocol version: OVL_FRAME_VERSION', () => {
    for (const version of [0, PROTOCOL_VERSION + 1, 0xff]) {
      assert.throws(() => decodeAll(new FrameDecoder(100), [rawFrame(2, version, 0x13)]), { code: 'OVL_FRAME_VERSION' }, `version ${version}`)
    }
  })

  it('refuses a stream that ends inside a frame: OVL_FRAME_TRUNCATED', () => {
    for (const cut of [1, 3, 4, FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 3]) {
      const decoder = new FrameDecoder(1024)
      const frames = decodeAll(decoder, [SAMPLE_BYTES.subarray(0, cut)])
      assert.equal(frames.length, 0)
      assert.throws(() => decoder.end(), { code: 'OVL_FRAME_TRUNCATED' }, `cut at ${cut}`)
    }
  })

  it('accepts a stream that ends between frames', () => {
    const decoder = new FrameDecoder(1024)
    assert.equal(decodeAll(decoder, [SAMPLE_BYTES]).length, SAMPLE.length)
    assert.doesNotThrow(() => decoder.end())
    assert.doesNotThrow(() => new FrameDecoder(10).end(), 'an empty stream is not truncated')
  })

  it('ignores empty chunks', () => {
    const decoder = new FrameDecoder(1024)
    assert.deepEqual(decodeAll(decoder, [Buffer.alloc(0), SAMPLE_BYTES, Buffer.alloc(0)]), SAMPLE)
    assert.equal(decoder.bufferedBytes, 0)
  })

  it('encodes the header as length (version + type + body), version, type', () => {
    const frame = encodeFrame(0x42, Buffer.from([9, 8, 7]))
    assert.deepEqual(frame, Buffer.from([0, 0, 0, 5, PROTOCOL_VERSION, 0x42, 9, 8, 7]))
    const target = Buffer.alloc(8, 0xee)
    encodeFrameHeader(0x01, 96, target, 1)
    assert.deepEqual(target, Buffer.from([0xee, 0, 0, 0, 98, PROTOCOL_VERSION, 0x01, 0xee]))
  })
})

describe('FrameWriter', () => {
  class Sink {
    writes: Buffer[] = []
    accept = true
    write(chunk: Buffer): boolean {
      this.writes.push(Buffer.from(chunk))
      return this.accept
    }
  }

  it('batches the frames written in one tick into one sink write', async () => {
    const sink = new Sink()
    const writer = new FrameWriter(sink)
    for (const frame of SAMPLE) assert.equal(writer.write(frame.type, frame.body), true)
    assert.equal(sink.writes.length, 0, 'nothing is written synchronously below the batch size')
    assert.equal(writer.pendingBytes, SAMPLE_BYTES.length)
    await Promise.resolve()
    assert.equal(sink.writes.length, 1)
    assert.deepEqual(sink.writes[0], SAMPLE_BYTES)
    assert.equal(writer.pendingBytes, 0)
  })

  it('writes frames from different ticks separately', async () => {
    const sink = new Sink()
    const writer = new FrameWriter(sink)
    writer.write(0x13, Buffer.from('a'))
    await new Promise((resolve) => setImmediate(resolve))
    writer.write(0x13, Buffer.from('b'))
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(sink.writes, [encodeFrame(0x13, Buffer.from('a')), encodeFrame(0x13, Buffer.from('b'))])
  })

  it('flushes at once when the batch reaches its size, and passes on backpressure', async () => {
    const sink = new Sink()
    sink.accept = false
    const writer = new FrameWriter(sink)
    const body = Buffer.alloc(WRITE_BATCH_BYTES / 4, 7)
    assert.equal(writer.write(0x13, body), true)
    assert.equal(writer.write(0x13, body), true)
    assert.equal(writer.write(0x13, body), true)
    assert.equal(writer.write(0x13, body), false, 'the fourth frame fills the batch: flushed, and the sink said wait')
    assert.equal(sink.writes.length, 1)
    assert.equal(sink.writes[0]?.length, 4 * (FRAME_HEADER_BYTES + body.length))
    await Promise.resolve()
    assert.equal(sink.writes.length, 1, 'the scheduled flush finds nothing left')
    const decoded = decodeAll(new FrameDecoder(WRITE_BATCH_BYTES), sink.writes)
    assert.equal(decoded.length, 4)
  })

  it('flush() with nothing pending writes nothing', () => {
    const sink = new Sink()
    assert.equal(new FrameWriter(sink).flush(), true)
    assert.equal(sink.writes.length, 0)
  })

  it('encodes a body straight into the batch, behind a header with the type the encoder returns', async () => {
    const sink = new Sink()
    const writer = new FrameWriter(sink)
    const encodeText = (w: BinaryWriter, text: string): number => (w.string(text), 0x13)
    writer.write(0x14, Buffer.from('before'))
    writer.encode(encodeText, 'héllo')
    writer.write(0x15, new Uint8Array([1, 2, 3]).subarray(1)) // a view, not a Buffer
    await Promise.resolve()
    assert.equal(sink.writes.length, 1)
    const text = Buffer.from('héllo')
    const body = Buffer.concat([Buffer.from([0, text.length]), text])
    assert.deepEqual(sink.writes[0], Buffer.concat([encodeFrame(0x14, Buffer.from('before')), encodeFrame(0x13, body), encodeFrame(0x15, Buffer.from([2, 3]))]))
  })

  it('queues nothing of a frame whose encoder throws; the frames around it go out', async () => {
    const sink = new Sink()
    const writer = new FrameWriter(sink)
    writer.write(0x13, Buffer.from('a'))
    const halfWay = (w: BinaryWriter): number => {
      w.u32(7)
      throw new RangeError('field longer than 65535 bytes')
    }
    assert.throws(() => writer.encode(halfWay, null), RangeError)
    assert.equal(writer.pendingBytes, FRAME_HEADER_BYTES + 1)
    writer.write(0x13, Buffer.from('b'))
    await Promise.resolve()
    assert.deepEqual(sink.writes, [Buffer.concat([encodeFrame(0x13, Buffer.from('a')), encodeFrame(0x13, Buffer.from('b'))])])
  })

  it('sends a frame larger than the batch size at once, whole, behind the frames queued before it', () => {
    const sink = new Sink()
    const writer = new FrameWriter(sink)
    const large = Buffer.alloc(3 * WRITE_BATCH_BYTES, 0x42)
    writer.write(0x14, Buffer.from('small'))
    assert.equal(writer.encode((w: BinaryWriter, bytes: Buffer): number => (w.bytes32(bytes), 0x13), large), true, 'flushed at once')
    assert.equal(sink.writes.length, 1)
    const decoded = decodeAll(new FrameDecoder(4 * WRITE_BATCH_BYTES), sink.writes)
    assert.deepEqual(decoded.map((frame) => frame.type), [0x14, 0x13])
    assert.deepEqual(decoded[1]?.body.subarray(4), large)
    assert.equal(writer.pendingBytes, 0)
  })

  it('hands the sink a new buffer for every batch: what it keeps is never overwritten', async () => {
    const kept: Buffer[] = []
    const writer = new FrameWriter({ write: (chunk) => (kept.push(chunk), true) })
    for (const text of ['first', 'second', 'third']) {
      writer.write(0x13, Buffer.from(text))
      await Promise.resolve()
    }
    assert.deepEqual(kept, ['first', 'second', 'third'].map((text) => encodeFrame(0x13, Buffer.from(text))))
  })
})

describe('frame attacks on a real session', () => {
  let honest: TestCredentials
  let probe: TestCredentials
  let member: TestCredentials

  before(async () => {
    const ca = await testCa('framing CA')
    honest = testCredentials(ca, 'honest')
    probe = testCredentials(ca, 'probe')
    member = testCredentials(ca, 'member')
  })

  /** A rogue with a valid certificate and key, authenticated: its session is up at `node`. */
  function authenticatedRogue(t: TestContext, node: OverlayNode): Promise<{ channel: RogueChannel; session: OverlaySession }> {
    return rogueAuthenticated(t, node, member)
  }

  /** `attack` on an up session closes it with `code`; the rogue is told; the node keeps serving. */
  async function refusedOnSession(t: TestContext, code: ErrorCode, attack: (channel: RogueChannel) => void): Promise<void> {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    attack(channel)
    assertLocalCode((await down)[1], code)
    await assertToldByClose(t, channel, code)
    await until(() => node.counts.sessions === 0 && node.counts.streams === 0, 5_000, 'the session to be released')
    await assertServes(t, node, probe)
  }

  it('delivers a frame exactly at limits.maxFrameBytes', async (t) => {
    const node = await startNode(t, { ...honest, limits: { maxFrameBytes: 1024 } })
    const { channel } = await authenticatedRogue(t, node)
    const text = 'x'.repeat(1024 - 2 - 4 - 2) // version and type, the CHAT id, then the string's u16 length
    const got = nextEvent<[Message]>(node, 'message', isChat)
    const { type, body } = encodeMessage({ type: MessageType.Chat, id: 0, text })
    assert.equal(encodeFrame(type, body).length, 4 + 1024)
    channel.sendFrame(type, body)
    assert.deepEqual((await got)[0], { type: MessageType.Chat, id: 0, text })
  })

  it('closes the session on a frame one byte over limits.maxFrameBytes: OVL_FRAME_TOO_LARGE', async (t) => {
    const node = await startNode(t, { ...honest, limits: { maxFrameBytes: 1024 } })
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    const { type, body } = encodeMessage({ type: MessageType.Chat, id: 0, text: 'x'.repeat(1024 - 2 - 4 - 2 + 1) })
    channel.sendFrame(type, body)
    assertLocalCode((await down)[1], 'OVL_FRAME_TOO_LARGE')
    await assertServes(t, node, probe)
  })

  it('refuses a frame announcing 2^31 bytes from its header alone and closes promptly: OVL_FRAME_TOO_LARGE', async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    const started = Date.now()
    // 2 GiB announced, 16 bytes sent: a node that waited for the body would never close.
    channel.sendRaw(rawFrame(2 ** 31, PROTOCOL_VERSION, MessageType.Chat, Buffer.alloc(10, 0x61)))
    assertLocalCode((await down)[1], 'OVL_FRAME_TOO_LARGE')
    await channel.waitClosed(2_000)
    t.diagnostic(`session closed ${Date.now() - started} ms after the header`)
    await assertToldByClose(t, channel, 'OVL_FRAME_TOO_LARGE')
    await until(() => node.counts.sessions === 0 && node.counts.streams === 0, 5_000, 'the session to be released')
    await assertServes(t, node, probe)
  })

  it('closes the session on a stream that ends inside a frame: OVL_FRAME_TRUNCATED', async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    channel.sendRaw(rawFrame(100, PROTOCOL_VERSION, MessageType.Chat, Buffer.alloc(10, 0x61)))
    channel.end()
    assertLocalCode((await down)[1], 'OVL_FRAME_TRUNCATED')
    await channel.waitClosed()
    await until(() => node.counts.sessions === 0 && node.counts.streams === 0, 5_000, 'the session to be released')
    await assertServes(t, node, probe)
  })

  // UDX's END and resets are not authenticated: only a sealed END or CLOSE frame ends a session cleanly.
  it('closes the session on a stream that ends without an END or CLOSE frame, and tells the peer: OVL_SESSION_TRUNCATED', async (t) => {
    await refusedOnSession(t, 'OVL_SESSION_TRUNCATED', (channel) => channel.end())
  })

  it('closes the session on a UDX reset without an END or CLOSE frame: OVL_SESSION_TRUNCATED', async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    channel.stream.udx.destroy()
    assertLocalCode((await down)[1], 'OVL_SESSION_TRUNCATED')
    await until(() => node.counts.sessions === 0 && node.counts.streams === 0, 5_000, 'the session to be released')
    await assertServes(t, node, probe)
  })

  it('closes cleanly on an END frame before the end of the stream, and answers with no CLOSE', async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    channel.sendFrame(SessionFrame.End)
    channel.end()
    assert.equal((await down)[1], null)
    await channel.waitClosed()
    assert.equal(channel.receivedClose(), null)
    await assertServes(t, node, probe)
  })

  it('closes cleanly on a UDX reset that comes after the END frame', async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    const framesIn = session.stats.framesIn
    channel.sendFrame(SessionFrame.End)
    await until(() => session.stats.framesIn === framesIn + 1, 5_000, 'the END frame to arrive')
    channel.stream.udx.destroy()
    assert.equal((await down)[1], null)
    await until(() => node.counts.sessions === 0 && node.counts.streams === 0, 5_000, 'the session to be released')
  })

  it('sends its own END frame when it closes a session without a reason', async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    session.close()
    await channel.frame(SessionFrame.End)
    await channel.waitClosed()
    assert.equal(channel.receivedClose(), null)
    assert.equal(channel.error, null, 'the END frame is the last thing sent, and the stream ends whole')
  })

  it("answers what came before the peer's CLOSE before its stream ends (an ACK in the same record)", async (t) => {
    const node = await startNode(t, honest)
    const { channel } = await authenticatedRogue(t, node)
    const chat = encodeMessage({ type: MessageType.Chat, id: 7, text: 'last words' })
    const close = encodeClose(new OverlayError('OVL_SESSION_CLOSED', 'the rogue is done'))
    channel.sendRaw(Buffer.concat([encodeFrame(chat.type, chat.body), encodeFrame(SessionFrame.Close, close)]))
    await channel.waitClosed()
    const ack = channel.frames.find((frame) => frame.type === MessageType.Ack)
    assert.ok(ack, 'the ACK of the CHAT arrived before the stream ended')
    assert.deepEqual(decodeMessage(ack.type, ack.body), { type: MessageType.Ack, id: 7, status: AckStatus.Delivered })
    assert.equal(channel.error, null, 'the stream ended whole')
  })

  it('closes the session on a frame after the END frame: OVL_MESSAGE_UNEXPECTED', async (t) => {
    await refusedOnSession(t, 'OVL_MESSAGE_UNEXPECTED', (channel) => {
      channel.sendFrame(SessionFrame.End)
      channel.sendFrame(MessageType.Ping, Buffer.from([0, 0, 0, 1]))
    })
  })

  it('closes the session on an END frame with a body: OVL_FRAME_MALFORMED', async (t) => {
    await refusedOnSession(t, 'OVL_FRAME_MALFORMED', (channel) => channel.sendFrame(SessionFrame.End, Buffer.from([0])))
  })

  it('closes the session on a CLOSE whose message is over 512 bytes: OVL_FRAME_MALFORMED', async (t) => {
    const body = closeBody('OVL_PEER_LEFT', 'x'.repeat(MAX_CLOSE_MESSAGE_BYTES + 1))
    await refusedOnSession(t, 'OVL_FRAME_MALFORMED', (channel) => channel.sendFrame(SessionFrame.Close, body))
  })

  it("escapes the control characters of a peer's CLOSE message (it is logged and printed)", async (t) => {
    const node = await startNode(t, honest)
    const { channel, session } = await authenticatedRogue(t, node)
    const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
    channel.sendFrame(SessionFrame.Close, closeBody('OVL_PEER_LEFT', '\x1b[2J\r\n+ fake-node joined\u202e'))
    const error = (await down)[1]
    assert.equal(error?.code, 'OVL_PEER_LEFT')
    assert.equal(error?.message, 'peer closed the session: \\x1b[2J\\x0d\\x0a+ fake-node joined\\u202e')
  })

  it('closes the session on a frame of another version: OVL_FRAME_VERSION', async (t) => {
    await refusedOnSession(t, 'OVL_FRAME_VERSION', (channel) => channel.sendRaw(rawFrame(6, PROTOCOL_VERSION + 1, MessageType.Ping, Buffer.from([0, 0, 0, 1]))))
  })

  it('closes the session on a frame length below its header: OVL_FRAME_MALFORMED', async (t) => {
    await refusedOnSession(t, 'OVL_FRAME_MALFORMED', (channel) => channel.sendRaw(Buffer.from([0, 0, 0, 1, PROTOCOL_VERSION])))
  })

  it('closes the session on an unknown message type: OVL_MESSAGE_UNKNOWN_TYPE', async (t) => {
    await refusedOnSession(t, 'OVL_MESSAGE_UNKNOWN_TYPE', (channel) => channel.sendFrame(0x7e, Buffer.from([1, 2, 3])))
  })

  it('closes the session on an unknown session frame type: OVL_MESSAGE_UNKNOWN_TYPE', async (t) => {
    await refusedOnSession(t, 'OVL_MESSAGE_UNKNOWN_TYPE', (channel) => channel.sendFrame(0x0e))
  })

  it('closes the session on a truncated CHAT body: OVL_FRAME_MALFORMED', async (t) => {
    const chat = new BinaryWriter().string('this text is cut short').finish()
    await refusedOnSession(t, 'OVL_FRAME_MALFORMED', (channel) => channel.sendFrame(MessageType.Chat, chat.subarray(0, 8)))
  })

  it('closes the session on a PING with trailing bytes: OVL_FRAME_MALFORMED', async (t) => {
    await refusedOnSession(t, 'OVL_FRAME_MALFORMED', (channel) => channel.sendFrame(MessageType.Ping, Buffer.from([0, 0, 0, 1, 0])))
  })

  it('closes the session on a CHAT that is not UTF-8: OVL_FRAME_MALFORMED', async (t) => {
    await refusedOnSession(t, 'OVL_FRAME_MALFORMED', (channel) => channel.sendFrame(MessageType.Chat, Buffer.from([0, 2, 0xc3, 0x28])))
  })

  it('refuses a message before authentication: OVL_MESSAGE_UNEXPECTED', async (t) => {
    const node = await startNode(t, honest)
    const rogue = RogueEndpoint.start(t)
    const failed = nextHandshakeFailure(node)
    const received: Message[] = []
    node.on('message', (message) => received.push(message))
    const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
    const { type, body } = encodeMessage({ type: MessageType.Chat, id: 0, text: 'let me in' })
    channel.sendFrame(type, body)
    assertLocalCode(await failed, 'OVL_MESSAGE_UNEXPECTED')
    await assertToldByClose(t, channel, 'OVL_MESSAGE_UNEXPECTED')
    assert.deepEqual(received, [], 'the message was not delivered')
    await until(() => node.counts.halfOpen === 0 && node.counts.streams === 0, 5_000, 'the connection to be released')
    await assertServes(t, node, probe)
  })

  /** A rogue whose AUTH the node verified (its AUTH_OK is in), and the node's next handshake failure. */
  async function verifiedRogue(t: TestContext): Promise<{ node: OverlayNode; channel: RogueChannel; failed: Promise<OverlayError> }> {
    const node = await startNode(t, honest)
    const rogue = RogueEndpoint.start(t)
    const failed = nextHandshakeFailure(node)
    const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
    channel.sendAuth(channel.proof(member.identity))
    await channel.frame(SessionFrame.AuthOk)
    return { node, channel, failed }
  }

  it('refuses a message after a valid AUTH but before the AUTH_OK: OVL_MESSAGE_UNEXPECTED', async (t) => {
    const { node, channel, failed } = await verifiedRogue(t) // the rogue withholds its own AUTH_OK
    const { type, body } = encodeMessage({ type: MessageType.Ping, seq: 1 })
    channel.sendFrame(type, body)
    assertLocalCode(await failed, 'OVL_MESSAGE_UNEXPECTED')
    await assertToldByClose(t, channel, 'OVL_MESSAGE_UNEXPECTED')
    await assertServes(t, node, probe)
  })

  it('does not take up a session that a bad frame closed in the record that brought it up', async (t) => {
    const { node, channel, failed } = await verifiedRogue(t)
    // Its AUTH_OK (the session is up at the node) and an unknown session frame, in one record.
    channel.sendRaw(Buffer.concat([encodeFrame(SessionFrame.AuthOk, Buffer.alloc(0)), encodeFrame(0x0e, Buffer.alloc(0))]))
    assertLocalCode(await failed, 'OVL_MESSAGE_UNKNOWN_TYPE')
    await assertToldByClose(t, channel, 'OVL_MESSAGE_UNKNOWN_TYPE')
    await assertServes(t, node, probe)
    // Taken up, it would stay in the node's sessions, closed, and never be counted as closed.
    assert.deepEqual(node.sessions().filter((s) => s.peerId === member.identity.nodeId), [])
    const { sessionsOpened, sessionsClosed, sessions } = node.stats()
    assert.equal(sessionsOpened - sessionsClosed, sessions)
  })
})
