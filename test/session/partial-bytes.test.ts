/**
 * A frame or record in progress, held as it trickles in: the bytes come out
 * whole and in order however they were cut, and a peer that sends one byte
 * at a time cannot make the node hold a Buffer view (about 100 bytes of heap)
 * per byte: what is held stays near what was received.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import { FrameDecoder } from '../../src/session/framing.js'
import { PartialBytes } from '../../src/session/partial-bytes.js'
import { RECORD_HEADER_BYTES, RecordKind, RecordReader } from '../../src/session/records.js'
import { SeededRandom } from '../helpers/rogue.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Heap and ArrayBuffer memory, after a full collection. */
function memory(): number {
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

/** One-byte views of a buffer the size of udx-native's receive buffer, as a session hands them on. */
function* bytesOf(run: Buffer, count: number): Generator<Buffer> {
  for (let i = 0; i < count; i++) yield run.subarray(i % run.length, (i % run.length) + 1)
}

describe('bytes of a unit in progress', () => {
  it('come out whole and in order, however the unit was cut (random cuts)', () => {
    const random = new SeededRandom(0xb17e5)
    for (let round = 0; round < 200; round++) {
      const total = 1 + random.int(20_000)
      const bytes = random.bytes(total)
      const held = new PartialBytes()
      let offset = 0
      while (offset < total) {
        const n = Math.min(total - offset, 1 + random.int(random.int(4) === 0 ? 3_000 : 8))
        held.append(bytes.subarray(offset, offset + n), random.int(2) === 0 ? total : -1)
        offset += n
        assert.equal(held.length, offset)
        const h = Math.min(offset, 5)
        assert.deepEqual(held.head(h), bytes.subarray(0, h))
      }
      assert.deepEqual(held.take(), bytes)
      assert.equal(held.length, 0)
    }
  })

  it('a 1 MiB frame sent one byte per chunk holds about what arrived, not a view per byte', () => {
    const max = 1024 * 1024
    const decoder = new FrameDecoder(max)
    const header = Buffer.from([0, 0, 0, 0, 1, 0x10])
    header.writeUInt32BE(max, 0)
    const run = Buffer.alloc(64 * 1024 + 2048, 7)
    const sent = 200_000
    const before = memory()
    decoder.push(header, () => assert.fail('no frame yet'))
    for (const byte of bytesOf(run, sent)) decoder.push(byte, () => assert.fail('no frame yet'))
    const grown = memory() - before
    assert.equal(decoder.bufferedBytes, 6 + sent)
    // A view per byte held 20 MiB here (109 bytes per byte); a buffer that doubles holds at most twice what arrived.
    assert.ok(grown < 4 * sent, `held ${grown} bytes for ${sent} received`)
    let body: Buffer | null = null
    decoder.push(Buffer.alloc(max - 2 - sent, 7), (frame) => (body = Buffer.from(frame.body)))
    assert.ok(body !== null && (body as Buffer).length === max - 2 && (body as Buffer).every((b) => b === 7))
  })

  it('so does a record sent one byte per chunk (before anything is authenticated)', () => {
    const reader = new RecordReader()
    const length = 100_000
    const header = Buffer.alloc(RECORD_HEADER_BYTES)
    header[0] = RecordKind.Sealed
    header.writeUInt32BE(length, 1)
    const run = Buffer.alloc(64 * 1024 + 2048, 3)
    const before = memory()
    reader.push(header, () => assert.fail('no record yet'))
    for (const byte of bytesOf(run, length - 1)) reader.push(byte, () => assert.fail('no record yet'))
    const grown = memory() - before
    assert.ok(grown < 4 * length, `held ${grown} bytes for ${length} received`)
    let record: Buffer | null = null
    reader.push(Buffer.from([3]), (_kind, r) => (record = r))
    assert.equal((record as Buffer | null)?.length, RECORD_HEADER_BYTES + length)
  })
})
