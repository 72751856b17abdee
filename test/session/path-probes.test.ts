/**
 * Path probes on a real socket: a PING with the session's MAC is answered
 * once, with a PONG no larger than itself; forged, replayed, unknown and
 * malformed probes get no answer and are reported.
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { PathProbes, type ProbeDropReason, type ProbeTarget } from '../../src/session/path-probes.js'
import { deriveProbeKeys, encodeProbe, PROBE_BYTES, ProbeType, verifyProbe } from '../../src/session/probe-datagram.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'
import type { RemoteAddress } from '../../src/transport/connection.js'
import { RawUdp } from '../helpers/rogue.js'
import { nextEvent } from '../helpers/wait.js'

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

  it('takes a PONG to its own PING, once', async (t) => {
    const { probes, session, peer, peerKeys, address, dropped } = setup(t)
    probes.ping(session, 3)
    const ping = await peer.next()
    assert.deepEqual(verifyProbe(ping.data, peerKeys), { type: ProbeType.Ping, seq: 3 })
    const pong = nextEvent(probes, 'pong')
    peer.send(encodeProbe(ProbeType.Pong, peerKeys, 3), address)
    assert.deepEqual((await pong).slice(1), [3])
    const replayed = dropped('probe-replayed')
    peer.send(encodeProbe(ProbeType.Pong, peerKeys, 3), address)
    await replayed
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
