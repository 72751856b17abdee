/**
 * Path probes on a real socket: a PING with the session's MAC is answered
 * once, with a PONG no larger than itself; forged, replayed, unknown and
 * malformed probes get no answer and are reported. A verified probe from a
 * new address moves the session only once the peer answers a challenge sent
 * there; that address gets at most twice the bytes it sent.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { PathProbes, type ProbeDropReason, type ProbeTarget } from '../../src/session/path-probes.js'
import { deriveProbeKeys, encodeProbe, PROBE_BYTES, ProbeType, verifyProbe } from '../../src/session/probe-datagram.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'
import type { RemoteAddress } from '../../src/transport/connection.js'
import { RawUdp } from '../helpers/rogue.js'
import { nextEvent, until } from '../helpers/wait.js'

function setup(t: TestContext) {
  const socket = new UdpSocket()
  socket.bind(0, '127.0.0.1')
  t.after(() => socket.close())
  const probes = new PathProbes<ProbeTarget>()
  const exporter = crypto.randomBytes(32)
  const peer = RawUdp.open(t)
  const session: ProbeTarget = { probeKeys: deriveProbeKeys(exporter, 'server') }
  probes.register(session, { socket, remote: peer.address })
  const peerKeys = deriveProbeKeys(exporter, 'client')
  const address: RemoteAddress = { host: '127.0.0.1', port: socket.address().port }
  const dropped = (reason: ProbeDropReason) => nextEvent<[ProbeDropReason, RemoteAddress]>(probes, 'dropped', (r) => r === reason)
  return { probes, session, peer, peerKeys, address, dropped }
}

describe('path probes', () => {
  it('answers a PING with one PONG of the same size, verifiable by the peer', async (t) => {
    const { probes, session, peer, peerKeys, address } = setup(t)
    const heard = nextEvent(probes, 'heard')
    const ping = encodeProbe(ProbeType.Ping, peerKeys, 7)
    peer.send(ping, address)
    const pong = await peer.next()
    assert.equal(pong.data.length, PROBE_BYTES)
    assert.equal(pong.data.length, ping.length, 'never larger than the PING')
    assert.deepEqual(verifyProbe(pong.data, peerKeys), { type: ProbeType.Pong, seq: 7 })
    assert.equal((await heard)[0], session)
  })

  it("takes a PONG to its own PING, once, and reports it under the heartbeat's number", async (t) => {
    const { probes, session, peer, peerKeys, address, dropped } = setup(t)
    probes.ping(session, 3)
    const ping = verifyProbe((await peer.next()).data, peerKeys)
    assert.equal(ping?.type, ProbeType.Ping)
    const pong = nextEvent(probes, 'pong')
    peer.send(encodeProbe(ProbeType.Pong, peerKeys, ping?.seq ?? -1), address)
    assert.deepEqual((await pong).slice(1), [3])
    const replayed = dropped('probe-replayed')
    peer.send(encodeProbe(ProbeType.Pong, peerKeys, ping?.seq ?? -1), address)
    await replayed
  })

  it('answers a verified PING from a new address with its PONG and a challenge there, and does not move yet', async (t) => {
    const { probes, peer, peerKeys, address } = setup(t)
    const elsewhere = RawUdp.open(t)
    let moved = 0
    probes.on('moved', () => moved++)
    elsewhere.send(encodeProbe(ProbeType.Ping, peerKeys, 5), address)
    await until(() => elsewhere.received.length === 2, 5_000, 'the PONG and the challenge')
    const answers = elsewhere.received.map((d) => verifyProbe(d.data, peerKeys))
    assert.deepEqual(answers.map((a) => a?.type).sort(), [ProbeType.Ping, ProbeType.Pong])
    assert.ok(answers.some((a) => a?.type === ProbeType.Pong && a.seq === 5), 'the PONG answers the PING (it may be the peer challenging us)')
    assert.equal(moved, 0, 'not moved on a probe alone')
    assert.equal(peer.received.length, 0)
  })

  it('moves once the new address answers its challenge', async (t) => {
    const { probes, session, peerKeys, address } = setup(t)
    const elsewhere = RawUdp.open(t)
    elsewhere.send(encodeProbe(ProbeType.Ping, peerKeys, 5), address)
    await until(() => elsewhere.received.length === 2, 5_000, 'the PONG and the challenge')
    const challenge = elsewhere.received.map((d) => verifyProbe(d.data, peerKeys)).find((a) => a?.type === ProbeType.Ping)
    const moved = nextEvent<[ProbeTarget, RemoteAddress]>(probes, 'moved')
    elsewhere.send(encodeProbe(ProbeType.Pong, peerKeys, challenge?.seq ?? -1), address)
    const [who, to] = await moved
    assert.equal(who, session)
    assert.deepEqual(to, elsewhere.address)
  })

  it("does not move on a PONG from elsewhere to a PING sent to the session's address (a captured PONG sent on)", async (t) => {
    const { probes, session, peer, peerKeys, address } = setup(t)
    const elsewhere = RawUdp.open(t)
    let moved = 0
    probes.on('moved', () => moved++)
    probes.ping(session, 1)
    const sent = verifyProbe((await peer.next()).data, peerKeys)
    // An attacker on the path takes the peer's PONG off the wire and sends it on from its own address.
    const pong = nextEvent(probes, 'pong')
    elsewhere.send(encodeProbe(ProbeType.Pong, peerKeys, sent?.seq ?? -1), address)
    await pong // the PONG is the peer's own: the heartbeat takes it
    const challenge = verifyProbe((await elsewhere.next()).data, peerKeys)
    assert.equal(challenge?.type, ProbeType.Ping, 'the stranger is challenged')
    assert.notEqual(challenge?.seq, sent?.seq, 'with a number never sent to the peer')
    assert.equal(moved, 0)
  })

  it("sends an address that is not the session's at most twice what it sent, and one challenge a second at most", async (t) => {
    const { probes, peerKeys, address } = setup(t)
    const elsewhere = RawUdp.open(t)
    let moved = 0
    probes.on('moved', () => moved++)
    let sentBytes = 0
    for (let seq = 10; seq < 30; seq++) {
      const probe = encodeProbe(seq % 2 === 0 ? ProbeType.Ping : ProbeType.Pong, peerKeys, seq)
      elsewhere.send(probe, address)
      sentBytes += probe.length
    }
    // 10 PINGs, each answered with its PONG; one challenge (the first probe drew it, well within a second).
    await until(() => elsewhere.received.length === 11, 5_000, 'the answers')
    const answers = elsewhere.received.map((d) => verifyProbe(d.data, peerKeys))
    assert.equal(answers.filter((a) => a?.type === ProbeType.Ping).length, 1, 'one challenge')
    const received = elsewhere.received.reduce((sum, d) => sum + d.data.length, 0)
    assert.ok(received <= 2 * sentBytes, `${received} bytes sent back for ${sentBytes}`)
    assert.equal(moved, 0, 'none of those PONGs answered the challenge')
  })

  it('gives nothing for a replayed PING, a forged MAC, an unknown session or a malformed probe', async (t) => {
    const { peer, peerKeys, address, dropped } = setup(t)
    const ping = encodeProbe(ProbeType.Ping, peerKeys, 9)
    peer.send(ping, address)
    await peer.next()
    const before = peer.received.length

    const replay = dropped('probe-replayed')
    peer.send(ping, address)
    await replay

    const forged = Buffer.from(encodeProbe(ProbeType.Ping, peerKeys, 10))
    forged[31] = (forged[31] as number) ^ 1
    const badMac = dropped('probe-bad-mac')
    peer.send(forged, address)
    await badMac

    const mine = deriveProbeKeys(crypto.randomBytes(32), 'client')
    const unknown = dropped('probe-unknown-session')
    peer.send(encodeProbe(ProbeType.Ping, mine, 1), address)
    await unknown

    for (const bad of [ping.subarray(0, 31), Buffer.concat([ping, Buffer.from([0])]), Buffer.from(ping).fill(9, 2, 3)]) {
      const malformed = dropped('probe-malformed')
      peer.send(bad, address)
      await malformed
    }
    // A PING signed with the sender's own direction key (a reflection) does not verify either.
    const reflected = dropped('probe-bad-mac')
    peer.send(encodeProbe(ProbeType.Ping, { ...peerKeys, send: peerKeys.receive }, 11), address)
    await reflected
    assert.equal(peer.received.length, before, 'no reply to any of them')
  })
})
