/**
 * FrameWriter on a corking sink (what node:tls is): large bodies go on as they
 * are, behind their own header, inside one cork; small ones are still joined.
 * The bytes the sink sees are the same frames either way.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FRAME_HEADER_BYTES } from '../../src/constants.js'
import { encodeFrame, FrameDecoder, FrameWriter, VECTORED_BODY_BYTES, type Frame } from '../../src/session/framing.js'

/** Records every write, and which cork each happened in. */
class CorkingSink {
  writes: Array<{ chunk: Buffer; corked: boolean }> = []
  corks = 0
  uncorks = 0
  accept = true
  #depth = 0

  write(chunk: Buffer): boolean {
    this.writes.push({ chunk, corked: this.#depth > 0 })
    return this.accept
  }

  cork(): void {
    this.corks++
    this.#depth++
  }

  uncork(): void {
    this.uncorks++
    this.#depth--
  }

  bytes(): Buffer {
    return Buffer.concat(this.writes.map((w) => w.chunk))
  }
}

function frames(bytes: Buffer): Frame[] {
  const out: Frame[] = []
  new FrameDecoder(4 * VECTORED_BODY_BYTES).push(bytes, (frame) => out.push({ type: frame.type, body: Buffer.from(frame.body) }))
  return out
}

describe('FrameWriter on a corking sink', () => {
  it('passes a large body on as it is, behind its own header, in one cork', () => {
    const sink = new CorkingSink()
    const body = Buffer.alloc(VECTORED_BODY_BYTES, 0x5a)
    const writer = new FrameWriter(sink)
    writer.write(0x13, body)
    assert.equal(sink.writes.length, 0, 'below the batch size nothing is written synchronously')
    assert.equal(writer.flush(), true)
    assert.equal(sink.corks, 1)
    assert.equal(sink.uncorks, 1)
    assert.equal(sink.writes.length, 2)
    assert.equal(sink.writes[0]?.chunk.length, FRAME_HEADER_BYTES)
    assert.equal(sink.writes[1]?.chunk, body, 'the body itself, not a copy')
    assert.ok(sink.writes.every((w) => w.corked))
    assert.deepEqual(sink.bytes(), encodeFrame(0x13, body))
  })

  it('keeps the order of a mixed batch, joining the small frames around a large one', () => {
    const sink = new CorkingSink()
    const writer = new FrameWriter(sink)
    const batch: Frame[] = [
      { type: 0x13, body: Buffer.from('first') },
      { type: 0x14, body: Buffer.from('second') },
      { type: 0x15, body: Buffer.alloc(VECTORED_BODY_BYTES + 1, 1) },
      { type: 0x16, body: Buffer.alloc(0) },
      { type: 0x17, body: Buffer.alloc(2 * VECTORED_BODY_BYTES, 2) },
      { type: 0x18, body: Buffer.from('last') },
    ]
    for (const frame of batch) writer.write(frame.type, frame.body)
    writer.flush()
    // [first+second joined] [header, large] [empty frame] [header, large] [last]
    assert.equal(sink.writes.length, 7)
    assert.deepEqual(frames(sink.bytes()), batch)
    assert.equal(writer.pendingBytes, 0)
  })

  it('accepts a body that is a Uint8Array view, not a Buffer', () => {
    const sink = new CorkingSink()
    const backing = new Uint8Array(VECTORED_BODY_BYTES + 10).fill(9)
    const body = backing.subarray(5, 5 + VECTORED_BODY_BYTES)
    const writer = new FrameWriter(sink)
    writer.write(0x13, body)
    writer.flush()
    assert.deepEqual(frames(sink.bytes()), [{ type: 0x13, body: Buffer.from(body) }])
  })

  it("returns the sink's answer to the last write: false asks the caller to wait", () => {
    const sink = new CorkingSink()
    sink.accept = false
    const writer = new FrameWriter(sink)
    writer.write(0x13, Buffer.alloc(VECTORED_BODY_BYTES))
    assert.equal(writer.flush(), false)
  })

  it('joins small frames into one write, without corking, as on a plain sink', async () => {
    const sink = new CorkingSink()
    const writer = new FrameWriter(sink)
    writer.write(0x13, Buffer.from('a'))
    writer.write(0x13, Buffer.alloc(VECTORED_BODY_BYTES - 1))
    await Promise.resolve()
    assert.equal(sink.corks, 0)
    assert.equal(sink.writes.length, 1)
    assert.deepEqual(sink.writes[0]?.chunk, Buffer.concat([encodeFrame(0x13, Buffer.from('a')), encodeFrame(0x13, Buffer.alloc(VECTORED_BODY_BYTES - 1))]))
  })
})
