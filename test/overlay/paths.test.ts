/**
 * Hole punching and relaying, the protocols themselves, on loopback (no NAT
 * in the way: the NAT lab suite in test/nat/ runs them across real NATs).
 * Three nodes: two ends that hold sessions only with a third in the middle.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { NatType } from '../../src/messaging/peer-record.js'
import { NodeMetrics } from '../../src/metrics/node-metrics.js'
import { OverlayError } from '../../src/errors.js'
import type { OverlayNode, OverlaySession } from '../../src/node/node.js'
import { FAST_HEARTBEAT, line, MANUAL, startNodes, wire } from '../helpers/network.js'
import { nextEvent, until } from '../helpers/wait.js'

async function trio(t: TestContext, options = MANUAL): Promise<[OverlayNode, OverlayNode, OverlayNode]> {
  const nodes = await startNodes(t, 3, options)
  await wire(nodes, line(3))
  const [a, r, b] = nodes as [OverlayNode, OverlayNode, OverlayNode]
  // a and b learn each other's records through r.
  await until(() => a.store.get(b.nodeId) !== undefined && b.store.get(a.nodeId) !== undefined, 5_000, 'records through the middle node')
  return [a, r, b]
}

/**
 * a and b both say they are behind hard NATs (no direct dial, no punch) and r
 * relays (a bootstrap-like peer with the relay flag): a's connector opens a
 * relayed session with b.
 */
async function relayedByConnector(t: TestContext): Promise<[OverlayNode, OverlayNode, OverlayNode]> {
  const [a, r, b] = await trio(t)
  r.self.setNat(NatType.Open, 1)
  a.self.setNat(NatType.Hard)
  b.self.setNat(NatType.Hard)
  await until(() => a.store.get(b.nodeId)?.record.nat === NatType.Hard && a.store.get(r.nodeId)?.record.flags === 1, 5_000, 'the new records')
  await a.connectPeer(b.nodeId)
  assert.equal(linkOf(a, b.nodeId)?.link, 'relayed')
  return [a, r, b]
}

function linkOf(node: OverlayNode, peer: string): { link: string; via: string | null } | undefined {
  const info = node.peers().find((p) => p.id === peer)
  return info && { link: info.link, via: info.via }
}

describe('hole punching, coordinated through the overlay', () => {
  it('opens a punched session between two nodes that share only a third', async (t) => {
    const [a, , b] = await trio(t)
    const outcomes: string[] = []
    for (const n of [a, b]) n.on('punch', (o) => outcomes.push(`${o.role}:${o.method}:${o.ok}`))
    const metrics = new NodeMetrics({ node: a })
    t.after(() => metrics.close())
    const record = a.store.get(b.nodeId)?.record
    assert.ok(record)
    await a.services.puncher.punch(b.nodeId, record)
    await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the session at b')
    assert.deepEqual(linkOf(a, b.nodeId), { link: 'punched', via: null })
    assert.deepEqual(linkOf(b, a.nodeId), { link: 'punched', via: null }, 'the accepting side knows the path was punched')
    assert.equal((await a.send(b.nodeId, 'through the hole')).via, 'session')
    await until(() => outcomes.length === 2, 5_000, 'both sides to report')
    assert.deepEqual(outcomes.sort(), ['initiator:simple:true', 'responder:simple:true'])
    assert.match(await metrics.text(), /overlay_punch_attempts_total\{outcome="success"\} 1\b/, '/metrics counts the punch')
  })

  it('refuses at once when both ends are behind hard NATs (a relay is needed)', async (t) => {
    const [a, , b] = await trio(t)
    a.self.setNat(NatType.Hard)
    const record = a.store.get(b.nodeId)?.record
    assert.ok(record)
    await assert.rejects(a.services.puncher.punch(b.nodeId, { ...record, nat: NatType.Hard }), { code: 'OVL_PUNCH_IMPOSSIBLE' })
  })
})

describe('relayed sessions', () => {
  it('run TLS end to end through the relay, which forwards ciphertext only', async (t) => {
    const [a, r, b] = await trio(t)
    const relayEvents: string[] = []
    r.on('relay', (e) => relayEvents.push(e.event))
    const [atRelay, atEnd] = [new NodeMetrics({ node: r }), new NodeMetrics({ node: a })]
    t.after(() => [atRelay, atEnd].forEach((m) => m.close()))
    const relay = a.session(r.nodeId) as OverlaySession
    const session = await a.services.relayClient.relay(b.nodeId, relay)
    assert.equal(session.peerId, b.nodeId, 'authenticated as b: the binding ran end to end')
    await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the session at b')
    assert.deepEqual(linkOf(a, b.nodeId), { link: 'relayed', via: r.nodeId })
    assert.deepEqual(linkOf(b, a.nodeId), { link: 'relayed', via: r.nodeId })
    const got = nextEvent(b, 'chat')
    const receipt = await a.send(b.nodeId, 'relayed hello')
    assert.equal(receipt.via, 'session')
    assert.equal(((await got)[0] as { text: string }).text, 'relayed hello')
    assert.deepEqual(relayEvents, ['opened'])
    assert.match(await atRelay.text(), /overlay_relay_circuits_active\{role="server"\} 1\b/)
    assert.match(await atEnd.text(), /overlay_relay_circuits_active\{role="client"\} 1\b/)
    assert.equal(r.services.relayServer.active, 1)
    // The relay holds no session with a-to-b itself: it only forwards.
    assert.equal(r.sessions().length, 2)
  })

  it('give way to a direct session when one comes up', async (t) => {
    const [a, r, b] = await trio(t, { ...MANUAL, relay: { idleTimeoutMs: 1_500 } })
    const metrics = new NodeMetrics({ node: a })
    t.after(() => metrics.close())
    const relayed = await a.services.relayClient.relay(b.nodeId, a.session(r.nodeId) as OverlaySession)
    await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the relayed session at b')
    const downs: string[] = []
    a.on('peer:down', (s) => downs.push(s.peer.name))
    await a.connect(b.address)
    await until(() => linkOf(a, b.nodeId)?.link === 'direct' && linkOf(b, a.nodeId)?.link === 'direct', 5_000, 'both ends to keep the direct session')
    assert.deepEqual(downs, [], 'the peer never went down: the direct session replaced the relayed one')
    await until(() => r.services.relayServer.active === 0, 10_000, 'the relay to let go of the idle pair')
    await until(() => relayed.state === 'closed', 5_000, 'the relayed session to close at a')
    assert.match(await metrics.text(), /overlay_relay_circuits_active\{role="client"\} 0\b/, 'a counts the relayed circuit as closed')
  })

  it('end at once on both ends, with the reason, when the relay stops relaying them (not at the heartbeat timeout)', async (t) => {
    // Heartbeats that would take 30 s to notice: an end that closes within the wait below heard it from the relay.
    const slow = { ...MANUAL, heartbeat: { intervalMs: 1_000, timeoutMs: 30_000 } }
    for (const [how, relaySettings] of [['time-limit', { maxDurationMs: 1_000 }], ['stopped', {}]] as const) {
      const nodes = await startNodes(t, 3, (i) => ({ ...slow, relay: i === 1 ? relaySettings : {} }))
      await wire(nodes, line(3))
      const [a, r, b] = nodes as [OverlayNode, OverlayNode, OverlayNode]
      await until(() => a.store.get(b.nodeId) !== undefined && b.store.get(a.nodeId) !== undefined, 5_000, 'records through the middle node')
      const atA = await a.services.relayClient.relay(b.nodeId, a.session(r.nodeId) as OverlaySession)
      await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the relayed session at b')
      const atB = b.session(a.nodeId) as OverlaySession
      const ends = [atA, atB].map((session) => nextEvent<[OverlayError | null]>(session, 'close', () => true, 5_000))
      if (how === 'stopped') r.services.relayServer.stop()
      for (const [error] of await Promise.all(ends)) {
        assert.equal(error?.code, 'OVL_RELAY_ENDED', `${how}: ${error?.code} ${error?.message}`)
        assert.match(error.message, new RegExp(`relay ended \\(${how}\\)`))
      }
      assert.equal(a.session(b.nodeId), undefined)
      assert.equal(b.session(a.nodeId), undefined)
      assert.ok(a.session(r.nodeId) && b.session(r.nodeId), 'the sessions with the relay itself stay up')
    }
  })

  it('tell the other end that an end left, when that end stops (its LEAVE is not cut off by the relay)', async (t) => {
    const slow = { ...MANUAL, heartbeat: { intervalMs: 1_000, timeoutMs: 30_000 } }
    const [a, r, b] = await trio(t, slow)
    await a.services.relayClient.relay(b.nodeId, a.session(r.nodeId) as OverlaySession)
    await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the relayed session at b')
    const down = nextEvent<[OverlaySession, OverlayError | null]>(b, 'peer:down', (s) => s.peerId === a.nodeId, 5_000)
    await a.stop()
    const [, error] = await down
    assert.equal(error?.code, 'OVL_PEER_LEFT', `${error?.code} ${error?.message}`)
    assert.ok(b.store.get(a.nodeId)?.leftAt, 'b keeps that a left, as for a direct session')
  })

  it('outlive the replacement of an end\'s session with the relay by the duplicate tie-break, and end with the one that replaced it', async (t) => {
    // By node id a < r: r dials a first, then a's own dial to r wins the tie-break at both ends.
    const [a, r, b] = (await startNodes(t, 3, MANUAL)).sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1)) as [OverlayNode, OverlayNode, OverlayNode]
    await wire([a, r, b], line(3))
    await until(() => a.store.get(b.nodeId) !== undefined, 5_000, 'b\'s record at a')
    const joinedOn = r.session(a.nodeId) as OverlaySession
    const relayed = await a.services.relayClient.relay(b.nodeId, a.session(r.nodeId) as OverlaySession)
    await until(() => b.session(a.nodeId) !== undefined, 5_000, 'the relayed session at b')
    const atB = b.session(a.nodeId) as OverlaySession
    await a.connect(r.address)
    await until(() => r.session(a.nodeId) !== joinedOn, 5_000, 'the replacement at the relay')
    // The session a joined on is read for a while, then closed: the pair stays, on the replacement.
    await until(() => joinedOn.state === 'closed', 5_000, 'the replaced session to close at the relay')
    assert.equal(joinedOn.closeReason?.code, 'OVL_DUPLICATE_SESSION')
    assert.equal(r.services.relayServer.active, 1)
    assert.equal((await a.send(b.nodeId, 'still relayed')).via, 'session')
    assert.equal(relayed.state, 'up')
    // a's session with the relay now carries the pair: when it goes, so does the pair.
    const ended = nextEvent<[OverlayError | null]>(atB, 'close', () => true, 5_000)
    ;(a.session(r.nodeId) as OverlaySession).close()
    const [error] = await ended
    assert.equal(error?.code, 'OVL_RELAY_ENDED', `${error?.code} ${error?.message}`)
  })

  it('keep the reason they were already closing for when the relay then ends them', async (t) => {
    const [a, r, b] = await trio(t)
    const atA = await a.services.relayClient.relay(b.nodeId, a.session(r.nodeId) as OverlaySession)
    const closed = nextEvent<[OverlayError | null]>(atA, 'close', () => true, 5_000)
    atA.close(new OverlayError('OVL_SESSION_CLOSED', 'closed by the test'))
    r.services.relayServer.stop() // its REFUSED reaches a while a still waits for b's answer, which can no longer come
    const [error] = await closed
    assert.equal(error?.code, 'OVL_SESSION_CLOSED')
  })

  it('are refused past the relay\'s limits, with the reason', async (t) => {
    const nodes = await startNodes(t, 4, (i) => ({ ...MANUAL, relay: i === 1 ? { maxPerNode: 1 } : {} }))
    await wire(nodes, [[0, 1], [2, 1], [3, 1]])
    const [a, r, b, c] = nodes as [OverlayNode, OverlayNode, OverlayNode, OverlayNode]
    await until(() => a.store.get(b.nodeId) !== undefined && a.store.get(c.nodeId) !== undefined, 5_000, 'records')
    const relay = a.session(r.nodeId) as OverlaySession
    await a.services.relayClient.relay(b.nodeId, relay)
    await assert.rejects(a.services.relayClient.relay(c.nodeId, relay), { code: 'OVL_RELAY_REFUSED', message: /per node/ })
  })

  it('a relayed session becomes direct within seconds once the peer can be dialed (a peer that was restarting)', async (t) => {
    const [a, , b] = await relayedByConnector(t)
    // b is now reachable directly (as a peer is once it listens again): a dials it, no punch needed.
    b.self.setNat(NatType.Open)
    await until(() => a.store.get(b.nodeId)?.record.nat === NatType.Open, 5_000, "b's new record at a")
    await until(() => linkOf(a, b.nodeId)?.link === 'direct', 10_000, 'the session to become direct')
  })

  it('a bootstrap node given by host name is tried as a relay (its session address is an IP, not the name)', async (t) => {
    const [r] = await startNodes(t, 1, MANUAL)
    if (!r) throw new Error('unreachable')
    // One session each, with the bootstrap node, named as an operator may name it.
    const joiner = { heartbeat: FAST_HEARTBEAT, peers: { target: 1, maintainIntervalMs: 200, exchangeIntervalMs: 200 }, bootstrap: [{ host: 'localhost', port: r.address.port }] }
    const [b] = await startNodes(t, 1, joiner)
    const [a] = await startNodes(t, 1, joiner)
    if (!a || !b) throw new Error('unreachable')
    // No relay flag on r (an easy NAT, as a cloud VM's 1:1 NAT reads); a and b behind hard NATs.
    r.self.setNat(NatType.Easy)
    a.self.setNat(NatType.Hard)
    b.self.setNat(NatType.Hard)
    await until(() => a.store.get(b.nodeId)?.record.nat === NatType.Hard && a.store.get(r.nodeId)?.record.nat === NatType.Easy, 10_000, "b's and r's new records at a")
    await a.connectPeer(b.nodeId)
    assert.deepEqual(linkOf(a, b.nodeId), { link: 'relayed', via: r.nodeId })
  })

  it('the connector falls back to a relay when no direct path or punch works, and says why when nothing does', async (t) => {
    const [a, r, b] = await relayedByConnector(t)
    await r.stop()
    await until(() => a.session(b.nodeId) === undefined, 10_000, 'the relayed session to end with its relay')
    await assert.rejects(a.connectPeer(b.nodeId), { code: 'OVL_UNREACHABLE', message: /punch: OVL_PUNCH_IMPOSSIBLE.*relay: no relay-capable peer/ })
  })
})
