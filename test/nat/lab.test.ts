// The NAT lab itself: each NAT kind behaves as its RFC 4787 description says,
// with real packets through real namespaces and nftables. Needs root; skips
// loudly without it, and fails instead under CI=true.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { describe, it, type TestContext } from 'node:test'
import { isRunning, Lab, labEnv, labFor, listNamespaces, pollUntil, requireLab, runOk, UdpProbe, upnp, type Endpoint, type LabHost, type ProbeSocket } from './lab/index.js'

/** How long a negative check listens for a datagram that must not come. */
const SILENCE_MS = 750
const LAB_HOLDER = fileURLToPath(new URL('./lab/fixtures/lab-holder.ts', import.meta.url))

/** One probe with one bound socket per host, started in parallel. */
async function sockets(lab: Lab, ...hosts: LabHost[]): Promise<ProbeSocket[]> {
  return Promise.all(hosts.map(async (host) => (await UdpProbe.start(lab, host)).bind()))
}

/** `client` sends `tag` to `server`: the source the server sees is the client's mapping. */
async function mappingSeenBy(client: ProbeSocket, server: ProbeSocket, tag: string): Promise<Endpoint> {
  await client.send(server.local, tag)
  return (await server.waitFor((m) => m.data === tag, undefined, tag)).from
}

const data = (text: string) => (m: { data: string }) => m.data === text

/** A learns B's external endpoint from the rendezvous server, and B learns A's, over their NATs. */
async function rendezvous(a: ProbeSocket, b: ProbeSocket, server: ProbeSocket): Promise<{ aKnows: Endpoint; bKnows: Endpoint }> {
  const [aExternal, bExternal] = await Promise.all([mappingSeenBy(a, server, 'register a'), mappingSeenBy(b, server, 'register b')])
  await server.send(aExternal, `peer ${JSON.stringify(bExternal)}`)
  await server.send(bExternal, `peer ${JSON.stringify(aExternal)}`)
  const peerOf = async (socket: ProbeSocket): Promise<Endpoint> => JSON.parse((await socket.waitFor((m) => m.data.startsWith('peer '))).data.slice(5)) as Endpoint
  const [aKnows, bKnows] = await Promise.all([peerOf(a), peerOf(b)])
  assert.deepEqual([aKnows, bKnows], [bExternal, aExternal])
  return { aKnows, bKnows }
}

/** Both send at once, five punches 50 ms apart, to what the rendezvous told them. */
async function punchBothWays(a: ProbeSocket, b: ProbeSocket, server: ProbeSocket): Promise<void> {
  const { aKnows, bKnows } = await rendezvous(a, b, server)
  await Promise.all([a.send(aKnows, 'punch from a', { count: 5, intervalMs: 50 }), b.send(bKnows, 'punch from b', { count: 5, intervalMs: 50 })])
}

/** Sends `marker` until it arrives: then everything sent before it on the same path has arrived or is lost. */
async function drain(from: ProbeSocket, to: ProbeSocket, marker: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await from.send(to.local, marker)
    if ((await to.noneWithin(200, data(marker))).length > 0) return
  }
  throw new Error(`${marker} never arrived`)
}

async function labNamespaces(prefix: string): Promise<string[]> {
  return (await listNamespaces()).filter((ns) => ns.startsWith(prefix))
}

interface HeldLab {
  prefix: string
  namespaces: string[]
  probePid: number
  upnpPid: number
}

/** Runs fixtures/lab-holder.ts in its own process; resolves once it reports its lab. */
async function holdLab(t: TestContext, mode: 'fail' | 'hold') {
  const child = spawn(process.execPath, ['--import', 'tsx', LAB_HOLDER, mode], { env: labEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  let output = ''
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const held = new Promise<HeldLab>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const line = /^LAB (.*)$/m.exec(output)
      if (line) resolve(JSON.parse(line[1]!) as HeldLab)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    void exit.then(() => reject(new Error(`lab-holder exited before reporting its lab:\n${output}`)))
  })
  return { child, held, exit, output: () => output }
}

describe('NAT lab', () => {
  it('open: a public host reaches another public host, addresses unchanged', async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const [a, b] = await Promise.all([lab.addPublicHost('a'), lab.addPublicHost('b')])
    const [sa, sb] = await sockets(lab, a, b)
    assert.deepEqual(await mappingSeenBy(sa!, sb!, 'hello b'), sa!.local)
    assert.deepEqual(await mappingSeenBy(sb!, sa!, 'hello a'), sb!.local)
  })

  describe('easy NAT (endpoint-independent mapping, address-and-port-dependent filtering)', () => {
    it('keeps one mapping for every destination and drops unsolicited inbound', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [s1, s2, s3, home] = await Promise.all([lab.addPublicHost('s1'), lab.addPublicHost('s2'), lab.addPublicHost('s3'), lab.addNattedHost('home', 'easy')])
      const [p1, p2, p3, ph] = await sockets(lab, s1, s2, s3, home)
      const seen1 = await mappingSeenBy(ph!, p1!, 'to s1')
      const seen2 = await mappingSeenBy(ph!, p2!, 'to s2')
      assert.equal(seen1.host, home.publicAddress)
      assert.deepEqual(seen2, seen1, 'the same external port towards both servers')
      // A third server that the host never sent to is filtered; a server it did send to gets through.
      await p3!.send(seen1, 'unsolicited from s3', { count: 3 })
      await p1!.send(seen1, 'reply from s1')
      await ph!.waitFor(data('reply from s1'))
      assert.deepEqual(await ph!.noneWithin(SILENCE_MS, data('unsolicited from s3')), [])
    })

    it('two hosts behind two easy NATs punch through with simultaneous sends', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [rv, alice, bob] = await Promise.all([lab.addPublicHost('rv'), lab.addNattedHost('alice', 'easy'), lab.addNattedHost('bob', 'easy')])
      const [pr, pa, pb] = await sockets(lab, rv, alice, bob)
      await punchBothWays(pa!, pb!, pr!)
      const [atBob, atAlice] = await Promise.all([pb!.waitFor(data('punch from a')), pa!.waitFor(data('punch from b'))])
      assert.equal(atBob.from.host, alice.publicAddress)
      assert.equal(atAlice.from.host, bob.publicAddress)
    })
  })

  it('addLanHost: two hosts on one home LAN reach each other directly and share the public address', async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const [server, first] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('first', 'easy')])
    const second = await lab.addLanHost('second', first)
    assert.equal(second.nat, first.nat)
    const [ps, p1, p2] = await sockets(lab, server, first, second)
    assert.deepEqual(await mappingSeenBy(p1!, p2!, 'over the LAN'), p1!.local, 'no NAT between neighbours')
    assert.equal((await mappingSeenBy(p2!, ps!, 'second out')).host, first.publicAddress)
  })

  describe('hard NAT (symmetric)', () => {
    it('maps each destination to another external port', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [s1, s2, home] = await Promise.all([lab.addPublicHost('s1'), lab.addPublicHost('s2'), lab.addNattedHost('home', 'hard')])
      const [p1, p2, ph] = await sockets(lab, s1, s2, home)
      const seen1 = await mappingSeenBy(ph!, p1!, 'to s1')
      const seen2 = await mappingSeenBy(ph!, p2!, 'to s2')
      assert.equal(seen1.host, home.publicAddress)
      assert.equal(seen2.host, home.publicAddress)
      assert.notEqual(seen1.port, seen2.port, 'a fresh external port per destination')
    })

    it('two hosts behind two hard NATs do not punch through with plain simultaneous sends', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [rv, alice, bob] = await Promise.all([lab.addPublicHost('rv'), lab.addNattedHost('alice', 'hard'), lab.addNattedHost('bob', 'hard')])
      const [pr, pa, pb] = await sockets(lab, rv, alice, bob)
      await punchBothWays(pa!, pb!, pr!)
      const [atBob, atAlice] = await Promise.all([pb!.noneWithin(SILENCE_MS, data('punch from a')), pa!.noneWithin(SILENCE_MS, data('punch from b'))])
      assert.deepEqual([atBob, atAlice], [[], []])
    })
  })

  it('double NAT behaves as one easy NAT end to end', async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const [s1, s2, home, peer] = await Promise.all([lab.addPublicHost('s1'), lab.addPublicHost('s2'), lab.addNattedHost('home', 'double'), lab.addNattedHost('peer', 'easy')])
    assert.equal(home.nats.length, 2)
    assert.notEqual(home.publicAddress, home.nat.wanAddress, 'the home NAT sits on the carrier LAN')
    const [p1, p2, ph, pp] = await sockets(lab, s1, s2, home, peer)
    const seen1 = await mappingSeenBy(ph!, p1!, 'to s1')
    assert.equal(seen1.host, home.publicAddress)
    assert.deepEqual(await mappingSeenBy(ph!, p2!, 'to s2'), seen1, 'endpoint-independent mapping through both NATs')
    await punchBothWays(ph!, pp!, p1!)
    await Promise.all([pp!.waitFor(data('punch from a')), ph!.waitFor(data('punch from b'))])
  })

  it('upnp: nat-upnp gets the external address and a UDP port mapping from miniupnpd', async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const [server, home] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('home', 'upnp')])
    const [ps, ph] = await sockets(lab, server, home)
    const { ip } = await upnp(lab, home, { op: 'externalIp' })
    assert.equal(ip, home.publicAddress)
    assert.equal((await mappingSeenBy(ph!, ps!, 'outbound')).host, ip, 'outbound traffic leaves from the external address')

    const external = { host: ip, port: 40_000 + (ph!.port % 20_000) }
    await upnp(lab, home, { op: 'map', public: external.port, private: ph!.port, protocol: 'udp', ttlSeconds: 600, description: 'lab test' })
    const { mappings } = await upnp(lab, home, { op: 'mappings' })
    assert.ok(
      mappings.some((m) => m.public.port === external.port && m.private.port === ph!.port && m.private.host === home.address && m.protocol === 'udp'),
      JSON.stringify(mappings),
    )
    // A public host the LAN host never sent to gets in through the mapping.
    const [stranger] = await sockets(lab, await lab.addPublicHost('stranger'))
    await stranger!.send(external, 'through the port mapping')
    const arrived = await ph!.waitFor(data('through the port mapping'))
    assert.deepEqual(arrived.from, stranger!.local)

    await upnp(lab, home, { op: 'unmap', public: external.port, protocol: 'udp' })
    assert.deepEqual((await upnp(lab, home, { op: 'mappings' })).mappings, [])
    // The flow already let in keeps its conntrack entry (as on a real router); a new flow is refused.
    const newcomer = await (await UdpProbe.start(lab, server)).bind()
    await newcomer.send(external, 'new flow after unmapping')
    await stranger!.send(external, 'old flow after unmapping')
    await ph!.waitFor(data('old flow after unmapping'))
    assert.deepEqual(await ph!.noneWithin(SILENCE_MS, data('new flow after unmapping')), [])
  })

  it('udp-blocked: no UDP gets out, while TCP still does', async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const [server, home] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('home', 'udp-blocked')])
    const [serverProbe, homeProbe] = await Promise.all([UdpProbe.start(lab, server), UdpProbe.start(lab, home)])
    const [ps, ph] = await Promise.all([serverProbe.bind(), homeProbe.bind()])
    await ph.send(ps.local, 'udp out', { count: 5 })
    assert.deepEqual(await ps.noneWithin(SILENCE_MS), [])
    const listener = await serverProbe.tcpListen()
    await homeProbe.tcpConnect({ host: server.address, port: listener.port })
    assert.equal((await listener.accepted()).host, home.publicAddress)
  })

  it('setLoss(20) drops about a fifth of the datagrams; setLoss(0) none', async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const [server, home] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('home', 'easy')])
    const [ps, ph] = await sockets(lab, server, home)
    await home.nat.setLoss(20)
    await ph!.send(ps!.local, 'lossy', { count: 500, intervalMs: 1 })
    await drain(ph!, ps!, 'end of lossy')
    const share = ps!.count('lossy') / 500
    t.diagnostic(`with 20 % loss, ${(share * 100).toFixed(1)} % of 500 datagrams arrived`)
    assert.ok(share >= 0.65 && share <= 0.92, `${share * 100} % arrived`)

    await home.nat.setLoss(0)
    await ph!.send(ps!.local, 'clean', { count: 100, intervalMs: 1 })
    await drain(ph!, ps!, 'end of clean')
    assert.equal(ps!.count('clean'), 100)
  })

  describe('NAT state', () => {
    it('flushConntrack: a hard NAT picks a new port, and the old mapping no longer lets replies in', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [server, home] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('home', 'hard')])
      const [ps, ph] = await sockets(lab, server, home)
      const before = await mappingSeenBy(ph!, ps!, 'before reboot')
      await home.nat.flushConntrack()
      const after = await mappingSeenBy(ph!, ps!, 'after reboot')
      assert.notEqual(after.port, before.port)
      await ps!.send(before, 'to the old mapping')
      await ps!.send(after, 'to the new mapping')
      await ph!.waitFor(data('to the new mapping'))
      assert.deepEqual(await ph!.noneWithin(SILENCE_MS, data('to the old mapping')), [])
    })

    it('flushConntrack: an easy NAT forgets the mapping, so inbound on it is dropped', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [server, home] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('home', 'easy')])
      const [ps, ph] = await sockets(lab, server, home)
      const mapping = await mappingSeenBy(ph!, ps!, 'before reboot')
      await home.nat.flushConntrack()
      await ps!.send(mapping, 'after reboot')
      assert.deepEqual(await ph!.noneWithin(SILENCE_MS, data('after reboot')), [])
      const again = await mappingSeenBy(ph!, ps!, 'host speaks again')
      t.diagnostic(`after the flush the easy NAT mapped the host to port ${again.port} (before: ${mapping.port}): masquerade keeps the source port when free`)
    })

    it('lowered UDP timeouts expire an idle mapping', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [server, home] = await Promise.all([lab.addPublicHost('server'), lab.addNattedHost('home', 'easy', { udpTimeouts: { udp: 2, stream: 2 } })])
      const [ps, ph] = await sockets(lab, server, home)
      const mapping = await mappingSeenBy(ph!, ps!, 'out')
      await ps!.send(mapping, 'back')
      await ph!.waitFor(data('back'))
      const idleSince = Date.now()
      const isHostMapping = (e: { original: { src: string; sport: number } }) => e.original.src === home.address && e.original.sport === ph!.port
      assert.ok((await home.nat.udpMappings()).some(isHostMapping), 'the mapping is in the NAT conntrack table')
      await pollUntil(async () => !(await home.nat.udpMappings()).some(isHostMapping), 10_000, 'the idle mapping to expire')
      const idleMs = Date.now() - idleSince
      t.diagnostic(`the mapping expired after ${idleMs} ms idle (timeouts 2 s)`)
      assert.ok(idleMs >= 1_000, `expired after only ${idleMs} ms`)
      await ps!.send(mapping, 'too late')
      assert.deepEqual(await ph!.noneWithin(SILENCE_MS, data('too late')), [])
    })
  })

  describe('isolation and cleanup', () => {
    it('is sealed: no interface in the root namespace, no route out of the lab ranges', async (t) => {
      if (!(await requireLab(t))) return
      const rootLinks = async (): Promise<string[]> => (JSON.parse((await runOk(['ip', '-j', 'link', 'show'])) || '[]') as { ifname: string }[]).map((l) => l.ifname).sort()
      const before = await rootLinks()
      const lab = await Lab.create(t)
      await Promise.all([lab.addPublicHost('open'), lab.addNattedHost('double', 'double'), lab.addNattedHost('upnp', 'upnp'), lab.addNattedHost('hard', 'hard')])
      assert.deepEqual(await rootLinks(), before, 'the root namespace got no interface')
      const inLab = (address: string | undefined): boolean => address !== undefined && /^198\.(18|19)\.\d+\.\d+(\/\d+)?$|^198\.20\.0\.\d+$/.test(address)
      for (const ns of lab.namespaces) {
        const links = JSON.parse((await lab.exec(ns, ['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[]
        for (const { ifname } of links) assert.match(ifname, /^(lo|br0|lan|wan|eth0|v\d+)$/, `${ns}: ${ifname}`)
        const routes = JSON.parse((await lab.exec(ns, ['ip', '-j', 'route', 'show'])).stdout) as { dst: string; gateway?: string }[]
        for (const route of routes) {
          const ok = route.dst === 'default' ? inLab(route.gateway) : inLab(route.dst) && (route.gateway === undefined || inLab(route.gateway))
          assert.ok(ok, `${ns}: route ${JSON.stringify(route)} leaves the lab ranges`)
        }
      }
    })

    it('destroy() deletes every namespace and process of the lab, and is idempotent', async (t) => {
      const lab = await labFor(t)
      if (!lab) return
      const [open] = await Promise.all([
        lab.addPublicHost('open'),
        lab.addNattedHost('easy', 'easy'),
        lab.addNattedHost('hard', 'hard'),
        lab.addNattedHost('double', 'double'),
        lab.addNattedHost('upnp', 'upnp'),
        lab.addNattedHost('blocked', 'udp-blocked'),
      ])
      const probe = await UdpProbe.start(lab, open)
      assert.equal((await labNamespaces(lab.prefix)).length, lab.namespaces.length)
      await Promise.all([lab.destroy(), lab.destroy()])
      assert.deepEqual(await labNamespaces(lab.prefix), [])
      assert.equal(isRunning(probe.pid!), false, 'the spawned probe was killed')
      await assert.rejects(lab.addPublicHost('late'), { code: 'LAB_DESTROYED' })
    })

    it('a test that fails midway still leaves nothing behind (the after hook)', async (t) => {
      if (!(await labFor(t))) return
      const holder = await holdLab(t, 'fail')
      const held = await holder.held
      const [code] = await holder.exit
      assert.equal(code, 1, holder.output())
      assert.match(holder.output(), /deliberate failure/)
      assert.deepEqual(await labNamespaces(held.prefix), [])
      assert.equal(isRunning(held.upnpPid), false, 'miniupnpd was stopped')
    })

    it('SIGTERM tears the lab down before the process dies', async (t) => {
      if (!(await labFor(t))) return
      const holder = await holdLab(t, 'hold')
      const held = await holder.held
      assert.equal((await labNamespaces(held.prefix)).length, held.namespaces.length)
      holder.child.kill('SIGTERM')
      const [, signal] = await holder.exit
      assert.equal(signal, 'SIGTERM', 'the process still dies of the signal')
      assert.deepEqual(await labNamespaces(held.prefix), [])
      await pollUntil(() => !isRunning(held.probePid) && !isRunning(held.upnpPid), 5_000, 'the lab processes to die')
    })

    it('after SIGKILL, the next Lab.create sweeps the dead run\'s namespaces and processes', async (t) => {
      if (!(await labFor(t))) return
      const holder = await holdLab(t, 'hold')
      const held = await holder.held
      holder.child.kill('SIGKILL')
      await holder.exit
      assert.equal((await labNamespaces(held.prefix)).length, held.namespaces.length, 'SIGKILL leaves the namespaces')
      assert.ok(isRunning(held.upnpPid), 'and orphans miniupnpd')
      await labFor(t) // sweeps
      assert.deepEqual(await labNamespaces(held.prefix), [])
      assert.deepEqual(readdirSync(os.tmpdir()).filter((name) => name.startsWith(held.prefix)), [], 'and its temporary directory')
      await pollUntil(() => !isRunning(held.probePid) && !isRunning(held.upnpPid), 5_000, 'the orphans to be killed')
    })
  })
})
