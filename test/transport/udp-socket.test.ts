/**
 * The node's UDP socket: stream ids are unpredictable. udx-native resets a
 * stream on a DESTROY packet from any address that names its id, and every
 * ACCEPT hands out an id, so ids that could be computed from earlier ones
 * (Math.random is xorshift128+) would let anyone reset other peers' sessions.
 * A reset of a stream that has no owner yet closes it; it does not end the
 * process.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import dgram from 'node:dgram'
import { UdpSocket } from '../../src/transport/udp-socket.js'

describe('UdpSocket', () => {
  it('draws stream ids from the CSPRNG, not Math.random', async (t) => {
    const socket = new UdpSocket()
    socket.bind(0, '127.0.0.1')
    t.after(() => socket.close())
    const original = Math.random
    let calls = 0
    Math.random = () => {
      calls++
      return original()
    }
    const ids = new Set<number>()
    try {
      for (let i = 0; i < 64; i++) {
        const stream = socket.createStream()
        ids.add(stream.id)
        stream.destroy()
      }
    } finally {
      Math.random = original
    }
    assert.equal(calls, 0, 'Math.random was used for stream ids')
    assert.equal(ids.size, 64, 'ids are distinct')
    assert.ok(![...ids].includes(0), 'id 0 is never used')
  })

  it('a reset of a stream nobody listens to yet closes it, and does not end the process', { timeout: 10_000 }, async (t) => {
    const a = new UdpSocket()
    const b = new UdpSocket()
    const { port: portA } = a.bind(0, '127.0.0.1')
    const { port: portB } = b.bind(0, '127.0.0.1')
    t.after(() => Promise.all([a.close(), b.close()]))
    const streamA = a.createStream()
    const streamB = b.createStream()
    streamA.connect(a.raw, streamB.id, portB, '127.0.0.1')
    streamB.connect(b.raw, streamA.id, portA, '127.0.0.1')
    // As a relayed stream waits for the relay's READY: connected, no owner listening for errors.
    const closed = new Promise<void>((resolve) => streamB.once('close', () => resolve())) // not events.once: it would listen for 'error' itself
    // udx-native's DESTROY (flag 0x10), naming the stream, with a sequence number in its window.
    const reset = Buffer.alloc(20)
    reset[0] = 0xff
    reset[1] = 1
    reset[2] = 0x10
    reset.writeUInt32LE(streamB.id, 4)
    reset.writeUInt32LE(1, 12)
    const sender = dgram.createSocket('udp4')
    t.after(() => sender.close())
    sender.send(reset, portB, '127.0.0.1')
    await closed
    assert.equal(streamB.destroyed, true)
    streamA.destroy()
  })
})
