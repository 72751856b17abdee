/**
 * How UdxPort passes received bytes up: a small packet at once (inside the
 * UDX stream's own 'data' event), runs of full-size packets together and in
 * order, nothing lost before 'end'.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import type { UDXStream } from 'udx-native'
import { UdxPort } from '../../src/transport/udx-port.js'
import { portPair } from '../helpers/udx-pair.js'
import { nextEvent, within } from '../helpers/wait.js'

describe('UdxPort reads', () => {
  it('passes a small packet up within the packet\'s own event, not a turn later', async (t) => {
    const { sb, da, db } = await portPair(t)
    const seen: Buffer[] = []
    db.on('data', (chunk: Buffer) => seen.push(chunk))
    // Registered after UdxPort's own listener: runs right after it, for the same packet.
    const delivered = new Promise<number>((resolve) => sb.once('data', () => resolve(seen.length)))
    da.write(Buffer.from('ping'))
    assert.equal(await within(5_000, delivered), 1, 'the port had already emitted the packet')
    assert.equal(Buffer.concat(seen).toString(), 'ping')
  })

  it('delivers a bulk transfer intact and in order, in fewer chunks than packets', async (t) => {
    const { sb, da, db } = await portPair(t)
    const sent = crypto.randomBytes(4 * 2 ** 20)
    const chunks: Buffer[] = []
    db.on('data', (chunk: Buffer) => chunks.push(chunk))
    const ended = nextEvent(db, 'end', () => true, 30_000)
    da.write(sent)
    da.end()
    await ended
    assert.ok(Buffer.concat(chunks).equals(sent), 'every byte, in order')
    // One chunk per packet before; runs of about 20 packets per chunk measured here.
    assert.ok(chunks.length * 4 <= sb.packetsReceived, `${chunks.length} chunks for ${sb.packetsReceived} packets`)
  })

  it('does not hold back gathered bytes when the stream ends or goes quiet', async (t) => {
    const { da, db } = await portPair(t)
    const got: Buffer[] = []
    db.on('data', (chunk: Buffer) => got.push(chunk))
    // A few full-size packets and nothing after them: they must arrive without more traffic.
    const burst = Buffer.alloc(5_000, 0x42)
    da.write(burst)
    await within(5_000, (async () => {
      while (Buffer.concat(got).length < burst.length) await nextEvent(db, 'data')
    })())
    assert.ok(Buffer.concat(got).equals(burst))
    const tail = Buffer.alloc(3_000, 0x43)
    const ended = nextEvent(db, 'end')
    da.write(tail)
    da.end()
    await ended
    assert.ok(Buffer.concat(got).equals(Buffer.concat([burst, tail])))
  })

  it('passes nothing up once its owner has destroyed it on the run before', async () => {
    // A stand-in for the UDX stream (one layer under test): the order of packets is the point.
    class FakeUdx extends EventEmitter {
      destroying = false
      destroyed = false
      write(): boolean {
        return true
      }
      end(): void {}
      destroy(): void {
        this.destroying = true
      }
    }
    const udx = new FakeUdx()
    const port = new UdxPort(udx as unknown as UDXStream)
    port.on('error', () => {})
    const seen: number[] = []
    port.on('data', (chunk: Buffer) => {
      seen.push(chunk.length)
      port.destroy() // the owner closes on the first bytes it sees
    })
    udx.emit('data', Buffer.alloc(4096).subarray(0, 1_200)) // a full packet: held for a run
    udx.emit('data', Buffer.alloc(4096).subarray(0, 100)) // another buffer: the run goes up first
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(seen, [1_200], 'the packet after the destroying run is not passed up')
  })
})

