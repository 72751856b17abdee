/**
 * The port over UDX streams, on real sockets through a relay the test can
 * cut: last bytes reach the peer on close, both ends close once both have
 * ended, an error drops the stream at once, and a peer that vanishes mid-close
 * does not keep the socket open for ever (udx-native 1.21.3 hangs destroy() on
 * a stream that sent its END after the peer's).
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { isClosingByItself } from '../../src/transport/udx-port.js'
import { portPair, type PortPair } from '../helpers/udx-pair.js'
import { nextEvent, within } from '../helpers/wait.js'

/** A pair through a relay the test can cut; a stream that times out reports it, and the tests look at what it closes, not at that. */
async function pair(t: TestContext): Promise<PortPair> {
  const ports = await portPair(t, { relay: true })
  for (const port of [ports.da, ports.db]) port.on('error', () => {})
  return ports
}

describe('UdxPort', () => {
  it('delivers the last bytes written before destroy()', async (t) => {
    const { da, db } = await pair(t)
    const got: Buffer[] = []
    db.on('data', (chunk: Buffer) => got.push(chunk))
    const ended = nextEvent(db, 'end')
    da.write(Buffer.from('last words'))
    da.destroy()
    await ended
    assert.equal(Buffer.concat(got).toString(), 'last words')
  })

  it('lets the socket close when the peer vanishes after both ends sent END', { timeout: 30_000 }, async (t) => {
    const { a, da, db, state } = await pair(t)
    db.end()
    await nextEvent(da, 'end')
    state.cut = true // the peer dies before it sees our END
    da.destroy()
    assert.ok(isClosingByItself(da.udx), 'left to UDX, not destroyed')
    const started = performance.now()
    await within(25_000, a.close(), 'the socket to close')
    t.diagnostic(`socket closed ${Math.round(performance.now() - started)} ms later (UDX's own timeout)`)
  })

  it('closes both ends once both have ended, answering the peer\'s END with its own', async (t) => {
    const { da, db } = await pair(t)
    const events: string[] = []
    for (const [name, port] of [['a', da], ['b', db]] as const) {
      port.on('end', () => events.push(`${name} end`))
      port.on('close', () => events.push(`${name} close`))
    }
    const closedA = nextEvent(da, 'close')
    const closedB = nextEvent(db, 'close')
    da.end()
    assert.equal(da.writableEnded, true)
    assert.equal(da.write(Buffer.from('too late')), false, 'a write after end() is refused')
    await within(5_000, Promise.all([closedA, closedB]), 'both ports to close')
    // b sees a's END, ends its side, and closes; a closes when b's END arrives.
    assert.deepEqual(events.filter((e) => e.startsWith('b')), ['b end', 'b close'])
    assert.deepEqual(events.filter((e) => e.startsWith('a')), ['a end', 'a close'])
    assert.ok(da.destroyed && db.destroyed)
  })

  it('destroy(error) drops the stream at once, reports the error, then closes', async (t) => {
    const { da, db } = await pair(t)
    const order: string[] = []
    da.on('error', (err) => order.push(`error ${err.message}`))
    const closed = nextEvent(da, 'close').then(() => order.push('close'))
    const peerClosed = nextEvent(db, 'close')
    da.destroy(new Error('bad input'))
    await within(5_000, closed)
    assert.deepEqual(order, ['error bad input', 'close'])
    assert.ok(da.udx.destroyed || da.udx.destroying, 'the UDX stream is destroyed, not ended')
    assert.equal(isClosingByItself(da.udx), false)
    // The peer learns nothing from a dropped stream but its silence: it is cut loose here.
    db.destroy(new Error('test over'))
    await within(5_000, peerClosed)
  })

  // A request whose last packet is a full one is held for a run and handed up with the END: the
  // answer is written from a microtask, after 'end', and must still go out before our own END.
  for (const size of [1_132, 2_284, 4_588]) {
    it(`sends an answer to the last bytes before the peer's END (${size} B request)`, async (t) => {
      const { da, db } = await pair(t)
      let request = 0
      db.on('data', (chunk: Buffer) => {
        request += chunk.length
        if (request === size) queueMicrotask(() => db.write(Buffer.from('answer')))
      })
      const answer: Buffer[] = []
      da.on('data', (chunk: Buffer) => answer.push(chunk))
      const closed = nextEvent(da, 'close')
      da.write(Buffer.alloc(size, 0x61))
      da.end()
      await within(5_000, closed, 'the requester to close')
      assert.equal(Buffer.concat(answer).toString(), 'answer')
    })
  }
})
