/**
 * The hole puncher's own bookkeeping, on a real UDP socket: an offer that
 * cannot be sent fails at once and leaves nothing behind to fire later.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { silentLogger } from '../../src/log/logger.js'
import { NatType, type PeerRecord } from '../../src/messaging/peer-record.js'
import { HolePuncher, type PunchOutcome } from '../../src/nat/hole-puncher.js'
import { PunchFlags, SignalType, type PunchSignal } from '../../src/nat/signals.js'
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

describe('HolePuncher answering offers', () => {
  function responder(t: TestContext, self: NatType): { puncher: HolePuncher; outcomes: PunchOutcome[] } {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] })
    const socket = new UdpSocket()
    socket.bind(0, '127.0.0.1')
    t.after(() => socket.close())
    const puncher = new HolePuncher(
      {
        nodeId: 'a'.repeat(64),
        socket,
        host: '127.0.0.1',
        self: () => ({ nat: self, candidates: ['127.0.0.1:1'] }),
        signal: () => true,
        dialPunched: () => Promise.reject(new Error('not reached')),
        sessionWith: () => Promise.reject(new Error('not reached')),
        adoptSocket: () => {},
      },
      silentLogger,
    )
    const outcomes: PunchOutcome[] = []
    puncher.on('outcome', (o) => outcomes.push(o))
    return { puncher, outcomes }
  }

  async function settle(t: TestContext, outcomes: PunchOutcome[], count: number): Promise<void> {
    // Past the punch timeout: no path was found, so each attempt reports how it went.
    for (let i = 0; i < 200 && outcomes.length < count; i++) {
      t.mock.timers.tick(1_000)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  it('believes an offer\'s birthday flag only when the NAT types call for it: no spray for a bit', async (t) => {
    const { puncher, outcomes } = responder(t, NatType.Easy)
    const offer = (nat: NatType): PunchSignal => ({ type: SignalType.PunchOffer, nonce: crypto.randomBytes(16).toString('hex'), nat, flags: PunchFlags.Birthday, candidates: ['127.0.0.1:9'] })
    puncher.onSignal('b'.repeat(64), offer(NatType.Easy)) // easy claiming a pool: a plain punch
    await settle(t, outcomes, 1)
    puncher.onSignal('c'.repeat(64), offer(NatType.Hard)) // hard with a pool: the easy side sprays
    await settle(t, outcomes, 2)
    assert.deepEqual(outcomes.map((o) => [o.target[0], o.method]), [['b', 'simple'], ['c', 'birthday']])
  })

  it('answers one offer per peer at a time', async (t) => {
    const { puncher, outcomes } = responder(t, NatType.Easy)
    const offer = (): PunchSignal => ({ type: SignalType.PunchOffer, nonce: crypto.randomBytes(16).toString('hex'), nat: NatType.Easy, flags: 0, candidates: ['127.0.0.1:9'] })
    puncher.onSignal('b'.repeat(64), offer())
    puncher.onSignal('b'.repeat(64), offer())
    puncher.onSignal('c'.repeat(64), offer())
    await settle(t, outcomes, 2)
    await settle(t, outcomes, 3) // a third would come by now, if any
    assert.deepEqual(outcomes.map((o) => o.target[0]).sort(), ['b', 'c'])
  })
})
