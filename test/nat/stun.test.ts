/**
 * STUN on the node's socket, with real sockets on loopback: what the server
 * answers (sizes, RFC 3489 and 5389 requests, 420), what it drops and why, its
 * per-source rate limit; the client's retransmission, timeout, matching of
 * transaction ids and sources, and its typed errors.
 */
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { afterEach, describe, it } from 'node:test'
import stun from 'stun'
import { STUN_MAX_ANSWER_BYTES } from '../../src/nat/constants.js'
import { StunEndpoint, type StunEndpointInit } from '../../src/nat/stun/endpoint.js'
import { StunErrorResponse } from '../../src/nat/stun/client.js'
import { StunAttr, StunType } from '../../src/nat/stun/wire.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'
import { nextEvent, within } from '../helpers/wait.js'
import { rawMessage } from './support/stun-bytes.js'

interface Received {
  data: Buffer
  from: { address: string; port: number }
}

/** A plain dgram socket: a standard peer we script byte by byte. */
class RawPeer {
  readonly socket = dgram.createSocket('udp4')
  readonly received: Received[] = []
  #waiters: Array<() => void> = []

  static async bind(host = '127.0.0.1'): Promise<RawPeer> {
    const peer = new RawPeer()
    peer.socket.on('message', (data, from) => {
      peer.received.push({ data, from })
      for (const wake of peer.#waiters.splice(0)) wake()
    })
    peer.socket.bind(0, host)
    await once(peer.socket, 'listening')
    return peer
  }

  get port(): number {
    return this.socket.address().port
  }

  get host(): string {
    return this.socket.address().address
  }

  send(data: Buffer, port: number, host = '127.0.0.1'): void {
    this.socket.send(data, port, host)
  }

  /** Resolves once `n` datagrams have arrived in all. */
  async count(n: number, ms = 5_000): Promise<Received[]> {
    while (this.received.length < n) await within(ms, new Promise<void>((resolve) => this.#waiters.push(resolve)), `${n} datagrams (have ${this.received.length})`)
    return this.received
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function node(init: Omit<StunEndpointInit, 'socket'> = {}): Promise<{ stun: StunEndpoint; socket: UdpSocket; port: number }> {
  const socket = new UdpSocket()
  const { port } = socket.bind(0, '127.0.0.1')
  const endpoint = new StunEndpoint({ socket, ...init })
  cleanups.push(async () => {
    endpoint.close()
    await socket.close()
  })
  return { stun: endpoint, socket, port }
}

async function peer(host?: string): Promise<RawPeer> {
  const p = await RawPeer.bind(host)
  cleanups.push(() => p.close())
  return p
}

function bindingRequest(attributes: Array<[number, Buffer]> = [], options: { legacy?: boolean; fingerprint?: boolean } = {}): Buffer {
  return rawMessage(StunType.BindingRequest, attributes, { cookie: !options.legacy, fingerprint: options.fingerprint ?? false })
}

/** A Binding success for the request `req`, saying `mapped`. */
function successFor(req: Buffer, mapped = { host: '203.0.113.9', port: 4242 }): Buffer {
  const m = stun.createMessage(StunType.BindingSuccess, req.subarray(8, 20))
  m.addXorAddress(mapped.host, mapped.port)
  return m.toBuffer()
}

describe('STUN server on the node socket', () => {
  it('answers a Binding request with the source address, in 32 bytes (40 with FINGERPRINT)', async () => {
    const { port } = await node()
    const client = await peer()
    client.send(bindingRequest(), port)
    client.send(bindingRequest([], { fingerprint: true }), port)
    const [plain, withFp] = await client.count(2)
    const sizes = [plain!.data.length, withFp!.data.length].sort()
    assert.deepEqual(sizes, [32, 40])
    for (const { data } of [plain!, withFp!]) {
      const answer = stun.decode(data)
      assert.equal(answer.type, StunType.BindingSuccess)
      assert.deepEqual(answer.getXorAddress(), { address: '127.0.0.1', port: client.port, family: 'IPv4' })
    }
  })

  it('answers an RFC 3489 request (no magic cookie, CHANGE-REQUEST 0) with MAPPED-ADDRESS', async () => {
    const { port } = await node()
    const client = await peer()
    const request = bindingRequest([[StunAttr.ChangeRequest, Buffer.alloc(4)]], { legacy: true })
    client.send(request, port)
    const [answer] = await client.count(1)
    assert.equal(answer!.data.length, 32)
    assert.deepEqual(answer!.data.subarray(4, 20), request.subarray(4, 20), 'the 16-byte transaction id echoed')
    assert.deepEqual(stun.decode(answer!.data).getAddress(), { address: '127.0.0.1', port: client.port, family: 'IPv4' })
  })

  it('answers 420 to unknown comprehension-required attributes (and to CHANGE-REQUEST asking for a change), within the cap', async () => {
    const { port, stun: endpoint } = await node()
    const client = await peer()
    const answered = nextEvent<[unknown, number, string]>(endpoint, 'answered', (_to, _bytes, kind) => kind === 'unknown-attribute')
    const change = Buffer.alloc(4)
    change.writeUInt32BE(0x6)
    client.send(bindingRequest([[StunAttr.ChangeRequest, change], [0x0027, Buffer.alloc(4)], [0x0030, Buffer.alloc(8)]], { fingerprint: true }), port)
    const [answer] = await client.count(1)
    await answered
    assert.ok(answer!.data.length <= STUN_MAX_ANSWER_BYTES, `${answer!.data.length} bytes`)
    assert.equal(answer!.data.readUInt16BE(0), StunType.BindingError)
    assert.deepEqual(stun.decode(answer!.data).getAttribute(StunAttr.UnknownAttributes)?.value, [StunAttr.ChangeRequest, 0x0027])
  })

  it('never answers more than STUN_MAX_ANSWER_BYTES, whatever the request', async () => {
    const { port } = await node({ limits: { perSourceBurst: 1_000, perSourcePerSecond: 1_000 } })
    const client = await peer()
    const requests = [
      bindingRequest(),
      bindingRequest([], { fingerprint: true }),
      bindingRequest([], { legacy: true }),
      bindingRequest([[0x8022, Buffer.alloc(400)]], { fingerprint: true }),
      bindingRequest([[0x0040, Buffer.alloc(0)], [0x0041, Buffer.alloc(0)], [0x0042, Buffer.alloc(0)], [0x0043, Buffer.alloc(0)]], { fingerprint: true }),
      bindingRequest([[StunAttr.Username, Buffer.from('user')], [StunAttr.MessageIntegrity, Buffer.alloc(20)], [StunAttr.Priority, Buffer.alloc(4)]], { fingerprint: true }),
    ]
    for (const request of requests) client.send(request, port)
    const answers = await client.count(requests.length)
    for (const { data } of answers) assert.ok(data.length <= STUN_MAX_ANSWER_BYTES, `${data.length} bytes`)
  })

  it('drops indications, other methods, responses that are not ours and malformed messages, with a reason each', async () => {
    const { port, stun: endpoint } = await node()
    const client = await peer()
    const reasons: string[] = []
    endpoint.on('dropped', (reason) => reasons.push(reason))
    const indication = bindingRequest()
    indication.writeUInt16BE(StunType.BindingIndication, 0)
    const allocate = bindingRequest()
    allocate.writeUInt16BE(0x0003, 0)
    const truncated = bindingRequest().subarray(0, 16)
    const badFingerprint = bindingRequest([], { fingerprint: true })
    badFingerprint[badFingerprint.length - 1]! ^= 0xff
    const sent: Array<[Buffer, string]> = [
      [indication, 'stun-indication'],
      [allocate, 'stun-unsupported-method'],
      [successFor(bindingRequest()), 'stun-unsolicited-response'],
      [truncated, 'stun-malformed'],
      [badFingerprint, 'stun-bad-fingerprint'],
    ]
    for (const [bytes] of sent) client.send(bytes, port)
    await within(5_000, (async () => { while (reasons.length < sent.length) await once(endpoint, 'dropped') })(), 'every drop')
    assert.deepEqual(reasons.sort(), sent.map(([, r]) => r).sort())
    assert.equal(client.received.length, 0, 'nothing answered')
  })

  it('rate-limits answers per source IP, other sources unaffected; the budget refills with time', async () => {
    let now = 0
    const { port, stun: endpoint } = await node({ limits: { perSourcePerSecond: 5, perSourceBurst: 5 }, now: () => now })
    const [a, b] = [await peer('127.0.0.1'), await peer('127.0.0.2')]
    let limited = 0
    endpoint.on('dropped', (reason) => reason === 'stun-rate-limited' && limited++)
    for (let i = 0; i < 8; i++) a.send(bindingRequest(), port)
    await a.count(5)
    await within(5_000, (async () => { while (limited < 3) await once(endpoint, 'dropped') })(), '3 rate-limited drops')
    b.send(bindingRequest(), port)
    await b.count(1)
    now += 1_000
    a.send(bindingRequest(), port)
    await a.count(6)
    assert.equal(limited, 3)
  })

  it('keeps rate-limit state for a bounded number of sources', async () => {
    const { port, stun: endpoint } = await node({ limits: { maxSources: 2 } })
    const sources = [await peer('127.0.0.1'), await peer('127.0.0.2'), await peer('127.0.0.3')]
    for (const s of sources) s.send(bindingRequest(), port)
    await Promise.all(sources.map((s) => s.count(1)))
    assert.equal(endpoint.server.trackedSources, 2)
  })

  it('a socket that does not serve drops requests (stun-not-serving)', async () => {
    const { port, stun: endpoint } = await node({ serve: false })
    const client = await peer()
    const dropped = nextEvent<[string]>(endpoint, 'dropped')
    client.send(bindingRequest(), port)
    assert.deepEqual((await dropped)[0], 'stun-not-serving')
  })
})

describe('STUN client on the node socket', () => {
  it('retransmits with a doubling interval and a fresh transaction id, and measures the round trip of the answered one', async () => {
    const { stun: endpoint } = await node()
    const server = await peer()
    const started = performance.now()
    const query = endpoint.query({ host: server.host, port: server.port }, { rtoMs: 40, timeoutMs: 5_000 })
    const requests = await server.count(3)
    const ids = new Set(requests.map((r) => r.data.subarray(8, 20).toString('hex')))
    assert.equal(ids.size, 3)
    server.send(successFor(requests[2]!.data), requests[2]!.from.port)
    const answer = await query
    const elapsed = performance.now() - started
    assert.deepEqual(answer.mapped, { host: '203.0.113.9', port: 4242 })
    assert.equal(answer.transmissions, 3)
    // The third transmission left at least 40 + 80 ms after the first.
    assert.ok(answer.rttMs <= elapsed - 100, `rtt ${answer.rttMs.toFixed(1)} ms is the third transmission's, not the first's (${elapsed.toFixed(1)} ms in all)`)
  })

  it('times out with OVL_STUN_TIMEOUT after backing off', async () => {
    const { stun: endpoint } = await node()
    const server = await peer()
    const times: number[] = []
    server.socket.on('message', () => times.push(performance.now()))
    await assert.rejects(endpoint.query({ host: server.host, port: server.port }, { rtoMs: 40, timeoutMs: 500 }), { code: 'OVL_STUN_TIMEOUT' })
    assert.ok(times.length >= 4, `${times.length} transmissions`)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    assert.ok(gaps[2]! > gaps[0]!, `gaps grow: ${gaps.map((g) => g.toFixed(0)).join(', ')}`)
  })

  it('ignores answers from another address, and a second answer to the same transaction', async () => {
    const { stun: endpoint, port } = await node()
    const server = await peer()
    const impostor = await peer()
    const reasons: string[] = []
    endpoint.on('dropped', (reason) => reasons.push(reason))
    const query = endpoint.query({ host: server.host, port: server.port }, { timeoutMs: 5_000 })
    const [request] = await server.count(1)
    impostor.send(successFor(request!.data, { host: '198.51.100.66', port: 666 }), port)
    await nextEvent(endpoint, 'dropped', (reason) => reason === 'stun-response-wrong-source')
    server.send(successFor(request!.data), port)
    assert.deepEqual((await query).mapped, { host: '203.0.113.9', port: 4242 })
    server.send(successFor(request!.data), port)
    server.send(successFor(bindingRequest()), port)
    await nextEvent(endpoint, 'dropped', (reason) => reason === 'stun-unsolicited-response')
    assert.deepEqual(reasons, ['stun-response-wrong-source', 'stun-late-response', 'stun-unsolicited-response'])
  })

  it('turns an error response into StunErrorResponse (OVL_STUN_ERROR_RESPONSE) with the STUN code', async () => {
    const { stun: endpoint, port } = await node()
    const server = await peer()
    const query = endpoint.query({ host: server.host, port: server.port })
    const [request] = await server.count(1)
    const error = stun.createMessage(StunType.BindingError, request!.data.subarray(8, 20))
    error.addError(400, 'Bad Request')
    server.send(error.toBuffer(), port)
    await assert.rejects(query, (err: unknown) => err instanceof StunErrorResponse && err.code === 'OVL_STUN_ERROR_RESPONSE' && err.stunCode === 400)
  })

  it('refuses an answer with a wrong FINGERPRINT or no address (OVL_STUN_BAD_RESPONSE)', async () => {
    const { stun: endpoint, port } = await node()
    const server = await peer()
    for (const spoil of [(b: Buffer) => (b[b.length - 1]! ^= 1), null]) {
      const query = endpoint.query({ host: server.host, port: server.port })
      const request = (await server.count(server.received.length + 1)).at(-1)!.data
      const m = stun.createMessage(StunType.BindingSuccess, request.subarray(8, 20))
      if (spoil) m.addXorAddress('203.0.113.9', 4242)
      m.addFingerprint()
      const bytes = m.toBuffer()
      spoil?.(bytes)
      server.send(bytes, port)
      await assert.rejects(query, { code: 'OVL_STUN_BAD_RESPONSE' })
    }
  })

  it('honours an abort signal, a limit on transactions in flight, and close()', async () => {
    const { stun: endpoint } = await node({ maxPending: 2 })
    const server = { host: '127.0.0.1', port: 9 }
    const controller = new AbortController()
    const aborted = endpoint.query(server, { signal: controller.signal })
    controller.abort()
    await assert.rejects(aborted, { code: 'OVL_ABORTED' })
    const first = endpoint.query(server, { rtoMs: 60_000 })
    const second = endpoint.query(server, { rtoMs: 60_000 })
    await assert.rejects(endpoint.query(server), { code: 'OVL_STUN_LIMIT' })
    await assert.rejects(endpoint.query({ host: 'stun.example', port: 3478 }), { code: 'OVL_STUN_SERVER_INVALID' })
    endpoint.close()
    await assert.rejects(first, { code: 'OVL_STUN_CLOSED' })
    await assert.rejects(second, { code: 'OVL_STUN_CLOSED' })
    await assert.rejects(endpoint.query(server), { code: 'OVL_STUN_CLOSED' })
    assert.equal(endpoint.client.pendingCount, 0)
  })

  it('two nodes ask each other: each learns the address its socket sends from', async () => {
    const a = await node()
    const b = await node()
    const [fromA, fromB] = await Promise.all([a.stun.query({ host: '127.0.0.1', port: b.port }), b.stun.query({ host: '127.0.0.1', port: a.port })])
    assert.deepEqual(fromA.mapped, { host: '127.0.0.1', port: a.port })
    assert.deepEqual(fromB.mapped, { host: '127.0.0.1', port: b.port })
  })
})
