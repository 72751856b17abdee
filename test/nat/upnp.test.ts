/**
 * UpnpMapper against a real UPnP gateway (miniupnpd in the NAT lab): maps the
 * node's port, reports it only once a packet from the internet came through,
 * renews a short lease, deletes the mapping on stop, picks another port when
 * its own is taken, and reports clearly when there is no gateway, when the
 * mapping does not work, and when the gateway goes away. The port choice is
 * also tested on its own, against a scripted gateway.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import readline from 'node:readline'
import { after, before, describe, it, type TestContext } from 'node:test'
import { mapFreePort } from '../../src/nat/upnp/ports.js'
import type { IgdMappingEntry } from '../../src/nat/upnp/igd.js'
import { NatError } from '../../src/errors.js'
import { Lab, labSupport, requireLab, upnp, UdpProbe, type NattedHost, type ProbeSocket } from './lab/index.js'
import { within } from '../helpers/wait.js'

const MAPPER = fileURLToPath(new URL('./fixtures/upnp-mapper.ts', import.meta.url))
/** tsx start-up on a loaded machine, SSDP, SOAP. */
const EVENT_TIMEOUT_MS = 30_000

type MapperEvent = { type: string; external?: string; code?: string; token?: string; port?: number; message?: string }

/** The fixture process: its JSON events, in order. */
class MapperProcess {
  readonly events: MapperEvent[] = []
  readonly #child: ChildProcess
  readonly #waiters = new Set<() => void>()
  readonly #exited: Promise<never>
  #stderr = ''

  constructor(lab: Lab, host: NattedHost, options: Record<string, unknown>) {
    this.#child = lab.spawnNode(host, [MAPPER, JSON.stringify(options)])
    readline.createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as MapperEvent)
      for (const wake of this.#waiters) wake()
    })
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk))
    this.#exited = new Promise<never>((_, reject) => this.#child.once('exit', (code) => reject(new Error(`the mapper exited (${code}); stderr: ${this.#stderr}`))))
    this.#exited.catch(() => {})
  }

  /** The first event (from index `from` on) of `type` that matches. */
  async next(type: string, from = 0, match: (e: MapperEvent) => boolean = () => true): Promise<MapperEvent> {
    const find = (): MapperEvent | undefined => this.events.slice(from).find((e) => e.type === type && match(e))
    let check = (): void => {}
    const found = new Promise<MapperEvent>((resolve) => {
      check = (): void => {
        const event = find()
        if (!event) return
        this.#waiters.delete(check)
        resolve(event)
      }
      this.#waiters.add(check)
      check()
    })
    return within(
      EVENT_TIMEOUT_MS,
      Promise.race([found, this.#exited]).finally(() => this.#waiters.delete(check)),
      `a '${type}' event (so far: ${JSON.stringify(this.events)}; stderr: ${this.#stderr})`,
    )
  }

  async stop(): Promise<void> {
    this.#child.stdin!.write('stop\n')
    await this.next('stopped')
  }
}

const endpoint = (address: string) => ({ host: address.split(':')[0]!, port: Number(address.split(':')[1]) })

describe('UpnpMapper against miniupnpd', () => {
  let lab: Lab | undefined
  let home: NattedHost
  let flaky: NattedHost
  let plain: NattedHost
  let prober: ProbeSocket

  before(async () => {
    if (!(await labSupport()).ok) return
    lab = await Lab.create()
    const [pub, h, f, p] = await Promise.all([lab.addPublicHost('pub'), lab.addNattedHost('home', 'upnp'), lab.addNattedHost('flaky', 'upnp'), lab.addNattedHost('plain', 'easy')])
    ;[home, flaky, plain] = [h, f, p]
    prober = await (await UdpProbe.start(lab, pub)).bind()
  })
  after(() => lab?.destroy())

  async function ready(t: TestContext): Promise<Lab | null> {
    if (!(await requireLab(t))) return null
    assert.ok(lab, 'the lab was not built')
    return lab
  }

  /** Answers the fixture's verify requests by sending its token from the internet to the mapped address. */
  function dialBack(mapper: MapperProcess): void {
    let handled = 0
    const loop = async (): Promise<void> => {
      for (;;) {
        const request = await mapper.next('verify', handled).catch(() => null)
        if (!request) return
        handled = mapper.events.indexOf(request) + 1
        await prober.send(endpoint(request.external!), `V${request.token}`, { count: 3, intervalMs: 100 })
      }
    }
    void loop()
  }

  it('maps the port, reports it once a packet came through, renews a short lease, deletes it on stop', async (t) => {
    const lab = await ready(t)
    if (!lab) return
    const mapper = new MapperProcess(lab, home, { leaseS: 2 })
    dialBack(mapper)
    const { port } = await mapper.next('ready')
    const mapped = await mapper.next('mapped')
    assert.equal(mapped.external, `${home.publicAddress}:${port}`, 'the same external port as the local one')
    const verifyAt = mapper.events.findIndex((e) => e.type === 'verify')
    assert.ok(verifyAt >= 0 && verifyAt < mapper.events.indexOf(mapped), 'verified before reported')

    // Lease 2 s, renewed every second: two renewals outlive the first lease.
    const first = await mapper.next('renewed')
    await mapper.next('renewed', mapper.events.indexOf(first) + 1)
    const { mappings } = await upnp(lab, home, { op: 'mappings' })
    const ours = mappings.filter((m) => m.public.port === port && m.protocol === 'udp')
    assert.equal(ours.length, 1, JSON.stringify(mappings))
    assert.equal(ours[0]!.description, 'p2p-overlay')
    assert.ok(ours[0]!.ttl > 0 && ours[0]!.ttl <= 2, `lease left: ${ours[0]!.ttl} s`)

    await mapper.stop()
    const after = await upnp(lab, home, { op: 'mappings' })
    assert.deepEqual(after.mappings.filter((m) => m.public.port === port), [], 'deleted on stop')
  })

  it('maps another external port when its own is taken by another LAN host', async (t) => {
    const lab = await ready(t)
    if (!lab) return
    const neighbour = await lab.addLanHost('neighbour', home)
    const taken = 40_000 + Math.floor(Math.random() * 10_000)
    await upnp(lab, neighbour, { op: 'map', public: taken, private: taken, protocol: 'udp', ttlSeconds: 600 })
    const mapper = new MapperProcess(lab, home, { port: taken })
    dialBack(mapper)
    const mapped = await mapper.next('mapped')
    const external = endpoint(mapped.external!)
    assert.notEqual(external.port, taken)
    await mapper.stop()
    const { mappings } = await upnp(lab, home, { op: 'mappings' })
    assert.deepEqual(mappings.map((m) => m.public.port), [taken], "only the neighbour's mapping is left")
  })

  it('does not report a mapping that does not work (OVL_UPNP_UNVERIFIED), and deletes it', async (t) => {
    const lab = await ready(t)
    if (!lab) return
    const mapper = new MapperProcess(lab, home, { verify: 'refuse' })
    const failed = await mapper.next('failed')
    assert.equal(failed.code, 'OVL_UPNP_UNVERIFIED', failed.message)
    assert.ok(!mapper.events.some((e) => e.type === 'mapped'))
    const { mappings } = await upnp(lab, home, { op: 'mappings' })
    assert.equal(mappings.filter((m) => m.description === 'p2p-overlay').length, 0, JSON.stringify(mappings))
    await mapper.stop()
  })

  it('reports OVL_UPNP_NO_GATEWAY when no gateway answers', async (t) => {
    const lab = await ready(t)
    if (!lab) return
    const mapper = new MapperProcess(lab, plain, {})
    const failed = await mapper.next('failed')
    assert.equal(failed.code, 'OVL_UPNP_NO_GATEWAY', failed.message)
    await mapper.stop()
  })

  it('reports the mapping lost (OVL_UPNP_LOST) when the gateway goes away, then looks for it again', async (t) => {
    const lab = await ready(t)
    if (!lab) return
    const mapper = new MapperProcess(lab, flaky, { leaseS: 2 })
    dialBack(mapper)
    const mapped = await mapper.next('mapped')
    await flaky.upnp!.stop()
    const lost = await mapper.next('lost')
    assert.deepEqual([lost.code, lost.external], ['OVL_UPNP_LOST', mapped.external])
    const failed = await mapper.next('failed', mapper.events.indexOf(lost))
    assert.equal(failed.code, 'OVL_UPNP_NO_GATEWAY')
    await mapper.stop()
  })
})

describe('mapFreePort (scripted gateway)', () => {
  const internal = { host: '192.0.2.5', port: 9000 }
  function gateway(table: Map<number, IgdMappingEntry>, refuse = new Set<number>()) {
    const added: number[] = []
    return {
      added,
      igd: {
        getMapping: async (port: number) => table.get(port) ?? null,
        addMapping: async (m: { externalPort: number }) => {
          if (refuse.has(m.externalPort)) throw new NatError('OVL_UPNP_REQUEST_FAILED', 'Request failed: 500')
          added.push(m.externalPort)
        },
      },
    }
  }
  const entry = (host: string, port: number): IgdMappingEntry => ({ internalHost: host, internalPort: port, leaseS: 100, description: '' })
  const ports = (...list: number[]) => () => list.shift() ?? 65_000

  it('takes the local port when free, or already ours', async () => {
    assert.equal(await mapFreePort(gateway(new Map()).igd, internal, 60), 9000)
    assert.equal(await mapFreePort(gateway(new Map([[9000, entry('192.0.2.5', 9000)]])).igd, internal, 60), 9000)
  })

  it('skips ports mapped to other hosts, and ports the gateway refuses', async () => {
    const g = gateway(new Map([[9000, entry('192.0.2.6', 9000)]]), new Set([20_000]))
    assert.equal(await mapFreePort(g.igd, internal, 60, { randomPort: ports(20_000, 30_000) }), 30_000)
    assert.deepEqual(g.added, [30_000])
  })

  it('gives up with OVL_UPNP_PORT_TAKEN, or the last refusal', async () => {
    const taken = new Map([9000, 1, 2, 3].map((p) => [p, entry('192.0.2.9', p)]))
    await assert.rejects(mapFreePort(gateway(taken).igd, internal, 60, { randomPort: ports(1, 2, 3) }), { code: 'OVL_UPNP_PORT_TAKEN' })
    await assert.rejects(mapFreePort(gateway(new Map(), new Set([9000, 1, 2, 3])).igd, internal, 60, { randomPort: ports(1, 2, 3) }), { code: 'OVL_UPNP_REQUEST_FAILED' })
  })
})
