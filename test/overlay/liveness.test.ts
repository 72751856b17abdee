/**
 * Heartbeats: the timing logic with a controlled clock, then real sessions
 * through a UDP proxy that can lose packets or be cut (a dead peer).
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { OverlayError } from '../../src/errors.js'
import { Heartbeat } from '../../src/messaging/heartbeat.js'
import type { OverlayNode, OverlaySession } from '../../src/node/node.js'
import { DEFAULT_HEARTBEAT } from '../../src/node/defaults.js'
import { FAST_HEARTBEAT, MANUAL, startNodes, type NodeOptions } from '../helpers/network.js'
import { UdpProxy } from '../helpers/udp-proxy.js'
import { nextEvent, until } from '../helpers/wait.js'

describe('Heartbeat (controlled clock)', () => {
  function rig(options = { intervalMs: 1000, timeoutMs: 3000 }) {
    let now = 0
    let heardAt = 0
    const pings: Array<{ seq: number; at: number }> = []
    let down: { at: number; code: string } | null = null
    let missed = 0
    const hb = new Heartbeat(
      {
        sendPing: (seq) => pings.push({ seq, at: now }),
        lastReceivedAt: () => heardAt,
        onDown: (error) => (down = { at: now, code: error.code }),
        onMissed: () => missed++,
      },
      options,
      () => now,
    )
    return {
      hb,
      pings,
      get down() {
        return down
      },
      get missed() {
        return missed
      },
      /** Moves the clock, running every timer that falls due (the heartbeat only uses setTimeout). */
      advance: async (ms: number, t: TestContext) => {
        for (let i = 0; i < ms; i += 50) {
          now += 50
          t.mock.timers.tick(50)
          await Promise.resolve()
        }
      },
      hear: () => (heardAt = now),
      get now() {
        return now
      },
    }
  }

  it('pings once per interval, one PING in flight, and measures the round trip', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = rig()
    r.hb.start()
    assert.equal(r.pings.length, 1, 'the first PING goes at once')
    await r.advance(200, t)
    r.hear()
    assert.equal(r.hb.onPong(r.pings[0]?.seq as number), 200)
    assert.equal(r.hb.rttMs, 200)
    await r.advance(950, t)
    assert.equal(r.pings.length, 1, 'nothing more within the interval')
    await r.advance(100, t)
    assert.equal(r.pings.length, 2, 'the next one an interval after the PONG')
    assert.equal(r.hb.onPong(12345), null, 'a PONG for no PING in flight is ignored')
    r.hb.stop()
  })

  it('replaces a PING lost on the way (no PONG within retryMs) and counts it missed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = rig()
    r.hb.start()
    assert.equal(r.hb.retryMs, 250, 'a quarter interval before the first round trip is known')
    await r.advance(250, t)
    assert.equal(r.pings.length, 2, 'a fresh PING after retryMs')
    assert.equal(r.missed, 1)
    assert.equal(r.hb.onPong(r.pings[0]?.seq as number), null, 'the PONG of a replaced PING is not taken')
    await r.advance(250, t)
    assert.equal(r.pings.length, 3, 'retries go on while nothing answers: a lossy path is probed faster')
    r.hear()
    assert.equal(r.hb.onPong(r.pings[2]?.seq as number), 0)
    await r.advance(900, t)
    assert.equal(r.pings.length, 3, 'back to one PING an interval once answered')
    r.hb.stop()
  })

  it('declares the peer down exactly timeoutMs after it was last heard', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = rig()
    r.hb.start()
    await r.advance(1500, t)
    r.hear() // heard at 1500
    await r.advance(2950, t)
    assert.equal(r.down, null, 'not down 2950 ms after the last sign of life')
    await r.advance(100, t)
    assert.deepEqual(r.down, { at: 4500, code: 'OVL_HEARTBEAT_TIMEOUT' })
  })

  it('stays up while the peer keeps talking, even if PONGs are slow', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = rig()
    r.hb.start()
    for (let i = 0; i < 20; i++) {
      await r.advance(500, t)
      r.hear()
    }
    assert.equal(r.down, null)
    r.hb.stop()
  })
})

/** a dials b through a UDP proxy (a path that can lose packets, be cut, or rebind); both ends hold the session. */
async function throughProxy(t: TestContext, options: NodeOptions = MANUAL, proxyOptions: { seed?: number } = {}): Promise<{ a: OverlayNode; b: OverlayNode; proxy: UdpProxy }> {
  const [a, b] = await startNodes(t, 2, options)
  if (!a || !b) throw new Error('unreachable')
  const proxy = await UdpProxy.start(t, b.address, proxyOptions)
  await a.connect(proxy.address)
  await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the session at b')
  return { a, b, proxy }
}

describe('liveness on real sessions', () => {
  it("follows a peer whose NAT forgot its mapping, once the peer answers at its new address; the session stays up", async (t) => {
    const { a, b, proxy } = await throughProxy(t)
    await nextEvent(b, 'heartbeat:rtt')
    const addressAtB = (): string | undefined => b.peers().find((p) => p.id === a.nodeId)?.address
    const before = addressAtB()
    const downs: string[] = []
    a.on('session:down', (_s, e) => downs.push(`a: ${e?.code}`))
    b.on('session:down', (_s, e) => downs.push(`b: ${e?.code}`))
    proxy.rebind()
    // a's next probe comes from a new port; b challenges it there and moves on the answer.
    await until(() => addressAtB() !== before, 10_000, 'b to follow a to its new address')
    assert.equal(addressAtB(), `127.0.0.1:${proxy.upstreamPorts[0]}`)
    const got = new Promise<string>((resolve) => a.once('chat', (chat) => resolve(chat.text)))
    const receipt = await b.send(a.nodeId, 'after the rebinding')
    assert.equal(receipt.via, 'session')
    assert.equal(await got, 'after the rebinding')
    assert.deepEqual(downs, [], 'no session went down')
  })

  it('notices a peer that goes silent (a cut path) within the timeout, on both ends', async (t) => {
    const { a, b, proxy } = await throughProxy(t)
    // Let a few heartbeats pass, then cut the cable.
    await nextEvent(a, 'heartbeat:rtt')
    const downA = nextEvent<[OverlaySession, OverlayError | null]>(a, 'session:down')
    const downB = nextEvent<[OverlaySession, OverlayError | null]>(b, 'session:down')
    const cutAt = performance.now()
    proxy.cut()
    const [[, errorA], [, errorB]] = await Promise.all([downA, downB])
    const detectedMs = performance.now() - cutAt
    assert.equal(errorA?.code, 'OVL_HEARTBEAT_TIMEOUT')
    assert.equal(errorB?.code, 'OVL_HEARTBEAT_TIMEOUT')
    // Last heard at most one interval before the cut; declared down timeoutMs after that.
    assert.ok(detectedMs <= FAST_HEARTBEAT.timeoutMs + 250, `detected after ${Math.round(detectedMs)} ms`)
    assert.ok(detectedMs >= FAST_HEARTBEAT.timeoutMs - FAST_HEARTBEAT.intervalMs - 50, `not before the timeout (${Math.round(detectedMs)} ms)`)
    assert.equal(a.stats().peersDeclaredDown, 1)
  })

  it('declares nobody down under 10 % packet loss each way, with the default heartbeat', async (t) => {
    const { a, b, proxy } = await throughProxy(t, { ...MANUAL, heartbeat: DEFAULT_HEARTBEAT }, { seed: 10 })
    proxy.setLoss(10)
    const downs: string[] = []
    a.on('session:down', (_s, e) => downs.push(`a: ${e?.code}`))
    b.on('session:down', (_s, e) => downs.push(`b: ${e?.code}`))
    // 20 heartbeat intervals with traffic both ways; delivery must stay exact too.
    const received: string[] = []
    b.on('chat', (chat) => received.push(chat.text))
    const started = performance.now()
    let sent = 0
    while (performance.now() - started < 20 * DEFAULT_HEARTBEAT.intervalMs) {
      await a.send(b.nodeId, `m${sent++}`)
    }
    assert.deepEqual(downs, [], 'no false down under 10 % loss')
    assert.ok(proxy.dropped > 20, `the proxy dropped ${proxy.dropped} datagrams`)
    assert.deepEqual(received, Array.from({ length: sent }, (_, i) => `m${i}`), 'every message arrived once, in order')
    const missed = a.stats().heartbeatsMissed + b.stats().heartbeatsMissed
    t.diagnostic(`10 % loss for 20 s: ${proxy.dropped} datagrams dropped, ${sent} messages acknowledged, ${missed} heartbeats missed, no false down`)
  })
})
