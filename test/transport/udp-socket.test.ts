/**
 * The node's UDP socket: stream ids are unpredictable. udx-native resets a
 * stream on a DESTROY packet from any address that names its id, and every
 * ACCEPT hands out an id, so ids that could be computed from earlier ones
 * (Math.random is xorshift128+) would let anyone reset other peers' sessions.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
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
})
