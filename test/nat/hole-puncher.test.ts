/**
 * The hole puncher's own bookkeeping, on a real UDP socket: an offer that
 * cannot be sent fails at once and leaves nothing behind to fire later.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../../src/log/logger.js'
import { NatType, type PeerRecord } from '../../src/messaging/peer-record.js'
import { HolePuncher } from '../../src/nat/hole-puncher.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'

describe('HolePuncher', () => {
  it('an offer with no peer to carry it fails with OVL_NO_ROUTE, and its answer timeout never fires', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const socket = new UdpSocket()
    socket.bind(0, '127.0.0.1')
    t.after(() => socket.close())
    const puncher = new HolePuncher(
      {
        nodeId: 'a'.repeat(64),
        socket,
        host: '127.0.0.1',
        self: () => ({ nat: NatType.Easy, candidates: ['127.0.0.1:1'] }),
        signal: () => false,
        dialPunched: () => Promise.reject(new Error('not reached')),
        sessionWith: () => Promise.reject(new Error('not reached')),
        adoptSocket: () => {},
      },
      silentLogger,
    )
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    t.after(() => process.off('unhandledRejection', onUnhandled))

    const record = { name: 'target', nat: NatType.Easy } as PeerRecord
    await assert.rejects(puncher.punch('b'.repeat(64), record), { code: 'OVL_NO_ROUTE' })
    // Past the answer timeout: before the fix, a rejection nobody awaited surfaced here.
    t.mock.timers.tick(60_000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(unhandled, [])
  })
})
