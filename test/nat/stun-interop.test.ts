/**
 * STUN against standard implementations, not only against itself: the node's
 * client asks coturn; coturn's turnutils_stunclient (RFC 5389), the vovida
 * RFC 3489 client (Debian stun-client) and the `stun` package's own client ask
 * the node's server. Installs coturn and stun-client when missing and root.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import stun from 'stun'
import { StunEndpoint } from '../../src/nat/stun/endpoint.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'
import { run } from './lab/run.js'
import { nextEvent } from '../helpers/wait.js'
import { freeUdpPort, requireStunTools, startCoturn, type Coturn } from './support/stun-tools.js'

const HOST = '127.0.0.1'
/** The vovida client waits for its one answer with no timeout of its own. */
const VOVIDA_WAIT_MS = 5_000
const VOVIDA_ATTEMPTS = 3
/** By path: under npm, node_modules/.bin is on PATH and its `stun` is the stun package's server. */
const VOVIDA_CLIENT = '/usr/bin/stun'

describe('STUN interop with standard implementations', () => {
  let socket: UdpSocket
  let endpoint: StunEndpoint
  let port: number
  before(() => {
    socket = new UdpSocket()
    port = socket.bind(0, HOST).port
    endpoint = new StunEndpoint({ socket })
  })
  after(async () => {
    endpoint.close()
    await socket.close()
  })

  it('the node client gets its reflexive address from coturn', async (t) => {
    if (!(await requireStunTools(t))) return
    let coturn: Coturn | undefined
    try {
      coturn = await startCoturn({ host: HOST, port: await freeUdpPort(HOST) })
      const answer = await endpoint.query({ host: coturn.host, port: coturn.port }, { timeoutMs: 5_000 })
      assert.deepEqual(answer.mapped, { host: HOST, port })
      assert.equal(answer.attribute, 'xor-mapped-address')
      t.diagnostic(`coturn ${coturn.host}:${coturn.port} answered ${answer.mapped.host}:${answer.mapped.port} in ${answer.rttMs.toFixed(2)} ms (${answer.transmissions} transmission)`)
    } finally {
      await coturn?.stop()
    }
  })

  it("coturn's turnutils_stunclient (RFC 5389) reads the node server's answer", async (t) => {
    if (!(await requireStunTools(t))) return
    const answered = nextEvent<[{ host: string; port: number }, number]>(endpoint, 'answered')
    const result = await run(['turnutils_stunclient', '-p', String(port), HOST], { timeoutMs: 10_000 })
    const [to, bytes] = await answered
    const seen = /UDP reflexive addr: ([\d.]+):(\d+)/.exec(result.stdout + result.stderr)
    assert.ok(seen, `turnutils_stunclient printed no reflexive address:\n${result.stdout}${result.stderr}`)
    assert.deepEqual({ host: seen[1], port: Number(seen[2]) }, to)
    t.diagnostic(`turnutils_stunclient: "${seen[0]}" (answer ${bytes} bytes)`)
  })

  it('the vovida RFC 3489 client (no magic cookie) reads MAPPED-ADDRESS from the node server', async (t) => {
    if (!(await requireStunTools(t))) return
    // Test 1 of RFC 3489: one Binding request with CHANGE-REQUEST 0 from `source`. This client sends once
    // and then blocks on recv with no timeout, so a lost datagram (a loaded machine) would hang it: it gets
    // VOVIDA_WAIT_MS and up to VOVIDA_ATTEMPTS runs.
    let seen: RegExpExecArray | null = null
    let source = 0
    const outputs: string[] = []
    for (let attempt = 1; attempt <= VOVIDA_ATTEMPTS && !seen; attempt++) {
      source = await freeUdpPort(HOST)
      const result = await run(['timeout', String(VOVIDA_WAIT_MS / 1000), VOVIDA_CLIENT, `${HOST}:${port}`, '1', '-v', '-p', String(source)], { timeoutMs: VOVIDA_WAIT_MS + 5_000 })
      outputs.push(`run ${attempt} (exit ${result.code}):\n${result.stdout}${result.stderr}`)
      seen = /MappedAddress = ([\d.]+):(\d+)/.exec(result.stdout + result.stderr)
      if (!seen) t.diagnostic(`stun-client run ${attempt} got no answer (exit ${result.code})`)
    }
    assert.ok(seen, `stun printed no MappedAddress:\n${outputs.join('\n')}`)
    assert.deepEqual([seen[1], Number(seen[2])], [HOST, source])
    t.diagnostic(`stun-client 0.97: "${seen[0]}"`)
  })

  it("the stun package's own client (its own socket) reads XOR-MAPPED-ADDRESS from the node server", async (t) => {
    const answered = nextEvent<[{ host: string; port: number }]>(endpoint, 'answered')
    const response = await stun.request(`${HOST}:${port}`, { timeout: 200, retries: 3 })
    const [to] = await answered
    assert.deepEqual(response.getXorAddress(), { address: to.host, port: to.port, family: 'IPv4' })
    t.diagnostic(`stun.request: XOR-MAPPED-ADDRESS ${to.host}:${to.port}`)
  })
})
