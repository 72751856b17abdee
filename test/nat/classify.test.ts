/**
 * NAT classification as a pure function, and netcheck() over a scripted STUN
 * client: no socket, no lab.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { classifyNat, type StunObservation } from '../../src/nat/classify.js'
import { netcheck } from '../../src/nat/netcheck.js'
import { NatError } from '../../src/errors.js'
import type { StunAnswer } from '../../src/nat/stun/client.js'
import type { RemoteAddress } from '../../src/transport/connection.js'

const local = [{ host: '192.0.2.10', port: 5000 }, { host: '127.0.0.1', port: 5000 }]
const s1 = { host: '198.51.100.1', port: 3478 }
const s2 = { host: '198.51.100.2', port: 3478 }
const s3 = { host: '198.51.100.3', port: 3478 }
const seen = (server: RemoteAddress, host: string | null, port = 0): StunObservation => ({ server, mapped: host === null ? null : { host, port } })

describe('classifyNat', () => {
  it('open: the servers saw a local address', () => {
    const result = classifyNat({ local, observations: [seen(s1, '192.0.2.10', 5000), seen(s2, '192.0.2.10', 5000)] })
    assert.deepEqual([result.behaviour, result.reflexive, result.mappingVaries], ['open', { host: '192.0.2.10', port: 5000 }, false])
  })

  it('open is known from one server too (no NAT to vary)', () => {
    assert.equal(classifyNat({ local, observations: [seen(s1, '192.0.2.10', 5000)] }).behaviour, 'open')
  })

  it('easy: one mapping seen by servers at two addresses', () => {
    const result = classifyNat({ local, observations: [seen(s1, '203.0.113.7', 41000), seen(s2, '203.0.113.7', 41000), seen(s3, null)] })
    assert.deepEqual([result.behaviour, result.reflexive, result.mappingVaries], ['easy', { host: '203.0.113.7', port: 41000 }, false])
  })

  it('hard: the mapped port (or address) differs per destination', () => {
    const byPort = classifyNat({ local, observations: [seen(s1, '203.0.113.7', 41000), seen(s2, '203.0.113.7', 52000)] })
    assert.deepEqual([byPort.behaviour, byPort.mappingVaries], ['hard', true])
    const byAddress = classifyNat({ local, observations: [seen(s1, '203.0.113.7', 41000), seen(s2, '203.0.113.8', 41000)] })
    assert.equal(byAddress.behaviour, 'hard')
  })

  it('hard: the reflexive address is the mapping most servers saw', () => {
    const result = classifyNat({ local, observations: [seen(s1, '203.0.113.7', 1), seen(s2, '203.0.113.7', 2), seen(s3, '203.0.113.7', 2)] })
    assert.deepEqual(result.reflexive, { host: '203.0.113.7', port: 2 })
  })

  it('blocked: nobody answered', () => {
    const result = classifyNat({ local, observations: [seen(s1, null), seen(s2, null)] })
    assert.deepEqual([result.behaviour, result.reflexive, result.mappingVaries], ['blocked', null, null])
  })

  it('unknown: one answer, or answers from one IP only, cannot tell easy from hard', () => {
    const one = classifyNat({ local, observations: [seen(s1, '203.0.113.7', 41000), seen(s2, null)] })
    assert.deepEqual([one.behaviour, one.mappingVaries], ['unknown', null])
    assert.match(one.reason, /cannot tell an easy NAT from a hard one/)
    assert.deepEqual(one.reflexive, { host: '203.0.113.7', port: 41000 })
    const sameIp = classifyNat({ local, observations: [seen(s1, '203.0.113.7', 41000), seen({ host: s1.host, port: 3479 }, '203.0.113.7', 41000)] })
    assert.equal(sameIp.behaviour, 'unknown')
    assert.equal(classifyNat({ local, observations: [] }).behaviour, 'unknown')
  })

  it('a server on the LAN (seeing a local address) does not make a NATed host open', () => {
    const result = classifyNat({ local, observations: [seen(s1, '192.0.2.10', 5000), seen(s2, '203.0.113.7', 41000), seen(s3, '203.0.113.7', 41000)] })
    assert.equal(result.behaviour, 'easy')
  })
})

describe('netcheck() over a scripted STUN client', () => {
  /** Answers per server address: a mapped address, or an error. */
  const scripted = (answers: Record<string, RemoteAddress | NatError>) => {
    const asked: string[] = []
    return {
      asked,
      stun: {
        query: async (server: RemoteAddress): Promise<StunAnswer> => {
          const key = `${server.host}:${server.port}`
          asked.push(key)
          const answer = answers[key]
          if (answer === undefined || answer instanceof Error) throw answer ?? new NatError('OVL_STUN_TIMEOUT', 'no answer')
          return { server, mapped: answer, rttMs: 12.34, transmissions: 1, attribute: 'xor-mapped-address' }
        },
      },
    }
  }

  it('resolves names, asks each distinct address once, reports each server as given', async () => {
    const { stun, asked } = scripted({ '198.51.100.1:3478': { host: '203.0.113.7', port: 41000 }, '198.51.100.2:3478': { host: '203.0.113.7', port: 41000 } })
    const report = await netcheck({
      stun,
      local,
      servers: [s1, { host: 'stun.example', port: 3478 }, s2, { host: 'nowhere.example', port: 3478 }],
      resolve: async (host) => {
        if (host === 'stun.example') return s1.host
        throw new Error('ENOTFOUND')
      },
    })
    assert.deepEqual(asked.sort(), ['198.51.100.1:3478', '198.51.100.2:3478'])
    assert.equal(report.behaviour, 'easy')
    assert.deepEqual(report.reflexive, { host: '203.0.113.7', port: 41000 })
    assert.deepEqual(report.servers.map((s) => [s.server, s.rttMs, s.error?.code ?? null]), [
      ['198.51.100.1:3478', 12.3, null],
      ['stun.example:3478', 12.3, null],
      ['198.51.100.2:3478', 12.3, null],
      ['nowhere.example:3478', null, 'OVL_STUN_SERVER_INVALID'],
    ])
    assert.equal(report.upnp, null)
  })

  it('reports the UPnP probe it was given, and says why each silent server failed', async () => {
    const { stun } = scripted({})
    const report = await netcheck({ stun, local, servers: [s1, s2], upnp: async () => ({ found: true, externalIp: '198.51.100.99', gateway: 'http://192.0.2.1:5000/rootDesc.xml', error: null }) })
    assert.equal(report.behaviour, 'blocked')
    assert.deepEqual(report.servers.map((s) => s.error?.code), ['OVL_STUN_TIMEOUT', 'OVL_STUN_TIMEOUT'])
    assert.equal(report.upnp?.externalIp, '198.51.100.99')
  })

  it('refuses to run without servers (OVL_NETCHECK_NO_SERVERS), and honours an aborted signal', async () => {
    const { stun } = scripted({})
    await assert.rejects(netcheck({ stun, local, servers: [] }), { code: 'OVL_NETCHECK_NO_SERVERS' })
    await assert.rejects(netcheck({ stun, local, servers: [s1], signal: AbortSignal.abort() }), { code: 'OVL_ABORTED' })
  })
})
