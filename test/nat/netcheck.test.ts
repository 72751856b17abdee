/**
 * `overlay netcheck` in the NAT lab: behind each kind of real NAT, asking two
 * public STUN servers on the lab's internet (a node's STUN service and
 * coturn), it names the NAT the lab built. Needs root; skips loudly without
 * it, fails instead under CI=true.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import { Lab, labSupport, requireLab, type LabHost, type NattedHost, type PublicHost } from './lab/index.js'
import { jsonLine, OVERLAY_BIN, runNodeIn } from './support/lab-process.js'
import { requireStunTools, startCoturn } from './support/stun-tools.js'
import { fileURLToPath } from 'node:url'

const STUN_SERVER = fileURLToPath(new URL('./fixtures/stun-server.ts', import.meta.url))
const STUN_PORT = 3478
/** netcheck's own wait; blocked hosts take all of it. */
const NETCHECK_TIMEOUT_MS = 2_000
/** Start-up (tsx compiling on a loaded 2-core machine) plus the wait. */
const RUN_TIMEOUT_MS = 45_000

interface Report {
  type: 'result'
  nat: string
  udp: boolean
  reflexive: string | null
  mappingVariesByDestination: boolean | null
  localPort: number
  upnp: { found: boolean; externalIp: string | null } | null
  servers: Array<{ server: string; mapped: string | null; rttMs: number | null; error: { code: string } | null }>
}

interface Topology {
  lab: Lab
  servers: string[]
  hosts: Record<'open' | 'easy' | 'hard' | 'blocked' | 'double' | 'upnp', LabHost | NattedHost>
}

describe('netcheck in the NAT lab', { concurrency: true }, () => {
  let topology: Promise<Topology> | undefined

  before(async () => {
    if (!(await labSupport()).ok) return
    topology = build()
    // Reported by the tests that use it.
    topology.catch(() => {})
  })
  after(async () => {
    await (await topology?.catch(() => undefined))?.lab.destroy()
  })

  async function build(): Promise<Topology> {
    const lab = await Lab.create()
    try {
      const [s1, s2, open, easy, hard, blocked, double, upnp] = await Promise.all([
        lab.addPublicHost('stuna'),
        lab.addPublicHost('stunb'),
        lab.addPublicHost('open'),
        lab.addNattedHost('easy', 'easy'),
        lab.addNattedHost('hard', 'hard'),
        lab.addNattedHost('blocked', 'udp-blocked'),
        lab.addNattedHost('double', 'double'),
        lab.addNattedHost('upnp', 'upnp'),
      ])
      await Promise.all([startNodeStun(lab, s1), startCoturn({ host: s2.address, port: STUN_PORT, spawnIn: (argv) => lab.spawn(s2, argv) })])
      return { lab, servers: [`${s1.address}:${STUN_PORT}`, `${s2.address}:${STUN_PORT}`], hosts: { open, easy, hard, blocked, double, upnp } }
    } catch (error) {
      await lab.destroy()
      throw error
    }
  }

  async function ready(t: TestContext): Promise<Topology | null> {
    if (!(await requireLab(t)) || !(await requireStunTools(t))) return null
    return (await topology) ?? null
  }

  async function netcheckFrom(top: Topology, host: LabHost, extra: string[] = ['--no-upnp']): Promise<Report> {
    const args = [OVERLAY_BIN, 'netcheck', ...top.servers.flatMap((s) => ['--stun', s]), '--timeout', String(NETCHECK_TIMEOUT_MS), '--json', ...extra]
    const result = await runNodeIn(top.lab, host, args, RUN_TIMEOUT_MS)
    assert.equal(result.code, 0, `netcheck in ${host.name} exited ${result.code}: ${result.stderr}`)
    return JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as Report
  }

  it('open host: open, the reflexive address is its own', async (t) => {
    const top = await ready(t)
    if (!top) return
    const report = await netcheckFrom(top, top.hosts.open)
    assert.equal(report.nat, 'open')
    assert.equal(report.reflexive, `${top.hosts.open.address}:${report.localPort}`)
    assert.equal(report.mappingVariesByDestination, false)
  })

  it('easy NAT: easy, one mapping for both servers; no UPnP gateway found', async (t) => {
    const top = await ready(t)
    if (!top) return
    const host = top.hosts.easy as NattedHost
    const report = await netcheckFrom(top, host, [])
    assert.equal(report.nat, 'easy', JSON.stringify(report))
    assert.equal(report.reflexive?.split(':')[0], host.publicAddress)
    assert.deepEqual(new Set(report.servers.map((s) => s.mapped)).size, 1)
    assert.equal(report.upnp?.found, false)
    t.diagnostic(`easy: ${report.reflexive}, rtt ${report.servers.map((s) => s.rttMs).join(' / ')} ms`)
  })

  it('hard NAT: hard, the mapping varies by destination', async (t) => {
    const top = await ready(t)
    if (!top) return
    const report = await netcheckFrom(top, top.hosts.hard)
    assert.equal(report.nat, 'hard', JSON.stringify(report))
    assert.equal(report.mappingVariesByDestination, true)
    t.diagnostic(`hard: ${report.servers.map((s) => `${s.server} saw ${s.mapped}`).join(', ')}`)
  })

  it('UDP blocked: blocked, every server timed out', async (t) => {
    const top = await ready(t)
    if (!top) return
    const report = await netcheckFrom(top, top.hosts.blocked)
    assert.deepEqual([report.nat, report.udp, report.reflexive], ['blocked', false, null])
    assert.deepEqual(report.servers.map((s) => s.error?.code), ['OVL_STUN_TIMEOUT', 'OVL_STUN_TIMEOUT'])
  })

  it('double NAT: easy (two endpoint-independent NATs), seen at the carrier NAT address', async (t) => {
    const top = await ready(t)
    if (!top) return
    const host = top.hosts.double as NattedHost
    const report = await netcheckFrom(top, host)
    assert.equal(report.nat, 'easy', JSON.stringify(report))
    assert.equal(report.reflexive?.split(':')[0], host.publicAddress)
  })

  it('UPnP gateway: easy, and the gateway answers with its external address', async (t) => {
    const top = await ready(t)
    if (!top) return
    const host = top.hosts.upnp as NattedHost
    const report = await netcheckFrom(top, host, [])
    assert.equal(report.nat, 'easy', JSON.stringify(report))
    assert.deepEqual([report.upnp?.found, report.upnp?.externalIp], [true, host.publicAddress])
  })

  it('prints a readable report without --json', async (t) => {
    const top = await ready(t)
    if (!top) return
    const result = await runNodeIn(top.lab, top.hosts.easy, [OVERLAY_BIN, 'netcheck', '--stun', top.servers[0]!, '--no-upnp', '--timeout', String(NETCHECK_TIMEOUT_MS)], RUN_TIMEOUT_MS)
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /NAT type: +unknown: only one STUN server answered: cannot tell an easy NAT from a hard one/)
    assert.match(result.stdout, new RegExp(`reflexive: +${(top.hosts.easy as NattedHost).publicAddress.replaceAll('.', '\\.')}:\\d+`))
  })
})

async function startNodeStun(lab: Lab, host: PublicHost): Promise<void> {
  const child = lab.spawnNode(host, [STUN_SERVER, String(STUN_PORT)])
  await jsonLine(child, (line) => line.type === 'ready', 30_000, `the STUN server on ${host.name}`)
}
