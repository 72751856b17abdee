/**
 * NAT traversal with real `overlay` processes behind real Linux NATs (the lab
 * in ./lab): for every pair of {open, easy, hard, double, UPnP, UDP blocked},
 * one node asks for a session with the other (`connect <node id>`), and the
 * two exchange direct messages both ways. How each pair connected and how long
 * it took are printed and written to test-artifacts/nat-matrix.json
 * (docs/benchmarks.md records them).
 *
 * Expected: direct (dialed, punched or through a UPnP mapping) wherever at
 * least one side is open, easy, double or UPnP-mapped; hard-hard relayed; a
 * UDP-blocked node fails, and says so (its netcheck reports "blocked", and
 * nobody else ever hears of it).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { REPO_ROOT } from '../helpers/cli.js'
import { labFor, type Lab, type LabHost, type NatType } from './lab/index.js'
import { knows, labNetwork, natOf, type LabNetwork, type LabNode } from './support/lab-network.js'

const KINDS: NatType[] = ['open', 'easy', 'hard', 'double', 'upnp', 'udp-blocked']
const SHORT: Record<NatType, string> = { open: 'op', easy: 'ea', hard: 'ha', double: 'do', upnp: 'up', 'udp-blocked': 'bl' }
/** What each node's netcheck should find behind each kind. */
const EXPECTED_NAT: Record<NatType, string> = { open: 'open', easy: 'easy', hard: 'hard', double: 'easy', upnp: 'easy', 'udp-blocked': 'blocked' }

interface PairResult {
  pair: string
  outcome: string
  via: string | null
  /** simple or birthday, for punched paths (as the initiator reported it). */
  punch: string | null
  probes: number | null
  /** From `connect` to the session (ms). */
  sessionMs: number | null
  /** From `connect` to the first authenticated message's acknowledgement (ms). */
  ms: number | null
  error: string | null
}

async function addHost(lab: Lab, kind: NatType, name: string): Promise<LabHost> {
  return kind === 'open' ? lab.addPublicHost(name) : lab.addNattedHost(name, kind)
}

/** What a pair of kinds must give. */
function expected(a: NatType, b: NatType): string[] {
  if (a === 'udp-blocked' || b === 'udp-blocked') return ['failed']
  if (a === 'hard' && b === 'hard') return ['relayed']
  return ['direct', 'punched', 'upnp']
}

async function connectPair(a: LabNode, b: LabNode): Promise<PairResult> {
  const pair = `${a.name}->${b.name}`
  const started = performance.now()
  try {
    const result = await a.process.command(`connect ${b.id}`, 45_000)
    const sessionMs = Math.round(performance.now() - started)
    const peer = result.peer as { link: string; via: string | null }
    // The first authenticated message each way, over that session.
    const there = await a.process.command(`send ${b.id} hello from ${a.name}`, 15_000)
    const firstMessageMs = Math.round(performance.now() - started)
    const back = await b.process.command(`send ${a.id} hello from ${b.name}`, 15_000)
    assert.equal(there.via, 'session', `${pair}: a direct message over the new session`)
    assert.equal(back.via, 'session', `${pair}: and back`)
    await b.process.next('message', (l) => l.text === `hello from ${a.name}`)
    await a.process.next('message', (l) => l.text === `hello from ${b.name}`)
    const punch = peer.link === 'punched' ? a.process.lines.find((l) => l.type === 'punch' && l.peer === b.id && l.ok === true) : undefined
    return { pair, outcome: peer.link, via: peer.via, punch: (punch?.method as string) ?? null, probes: (punch?.probes as number) ?? null, sessionMs, ms: firstMessageMs, error: null }
  } catch (err) {
    return { pair, outcome: 'failed', via: null, punch: null, probes: null, sessionMs: null, ms: Math.round(performance.now() - started), error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim().slice(0, 300) }
  }
}

describe('NAT traversal across real NATs (lab)', () => {
  it('connects every pair of NAT kinds as expected, and records how and how fast', { timeout: 900_000 }, async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const net: LabNetwork = await labNetwork(t, lab)
    // Two hosts of each kind, so same-kind pairs are two different NATs.
    const hosts = await Promise.all(KINDS.flatMap((kind) => [1, 2].map(async (i) => ({ kind, host: await addHost(lab, kind, `${SHORT[kind]}${i}`) }))))
    const nodes = new Map<string, LabNode>()
    await Promise.all(hosts.map(async ({ host }) => nodes.set(host.name, await net.start(host, host.name))))
    const node = (kind: NatType, i: 1 | 2): LabNode => nodes.get(`${SHORT[kind]}${i}`) as LabNode

    // Each node finds out what is in front of it.
    for (const { kind, host } of hosts) {
      const verdict = await natOf(nodes.get(host.name) as LabNode)
      assert.equal(verdict.nat, EXPECTED_NAT[kind], `${host.name} (${kind}): netcheck says ${String(verdict.nat)}: ${String(verdict.reason)}`)
      if (kind === 'upnp') await (nodes.get(host.name) as LabNode).process.next('upnp', (l) => l.mapped !== null, 30_000)
    }
    const reachable = hosts.filter((h) => h.kind !== 'udp-blocked')
    for (const { host } of reachable) await knows(nodes.get(host.name) as LabNode, reachable.length - 1 + 2)

    const results: PairResult[] = []
    for (let i = 0; i < KINDS.length; i++) {
      for (let j = i; j < KINDS.length; j++) {
        const a = KINDS[i] as NatType
        const b = KINDS[j] as NatType
        const result = await connectPair(node(a, 1), node(b, a === b ? 2 : 1))
        results.push(result)
        t.diagnostic(`${a.padEnd(11)} -> ${b.padEnd(11)} ${result.outcome.padEnd(8)} ${result.ms === null ? '' : `${result.ms} ms`}${result.punch ? ` (${result.punch}, ${result.probes} probes)` : ''}${result.via ? ` via ${result.via.slice(0, 8)}` : ''}${result.error ? `  (${result.error.slice(0, 120)})` : ''}`)
      }
    }
    await fs.mkdir(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true })
    await fs.writeFile(path.join(REPO_ROOT, 'test-artifacts', 'nat-matrix.json'), `${JSON.stringify(results, null, 2)}\n`)

    let k = 0
    for (let i = 0; i < KINDS.length; i++) {
      for (let j = i; j < KINDS.length; j++) {
        const result = results[k++] as PairResult
        const want = expected(KINDS[i] as NatType, KINDS[j] as NatType)
        assert.ok(want.includes(result.outcome), `${KINDS[i]} -> ${KINDS[j]}: ${result.outcome}, expected ${want.join(' or ')} ${result.error ?? ''}`)
        if (result.outcome === 'relayed') assert.ok(result.via === net.boot.name || result.via === net.stun2.name, `relayed by a public node, not ${result.via}`)
        if (result.outcome === 'failed') assert.match(result.error ?? '', /OVL_PEER_UNKNOWN|OVL_UNREACHABLE/, 'a failure says why')
      }
    }
    const timeOf = (pair: string): number => results.find((r) => r.pair === pair)?.ms ?? Infinity
    assert.ok(timeOf('ea1->ea2') < 2_000, `easy <-> easy in under 2 s (${timeOf('ea1->ea2')} ms)`)
    assert.ok(timeOf('ea1->ha1') < 20_000, `easy <-> hard in under 20 s (${timeOf('ea1->ha1')} ms)`)
    assert.equal(results.find((r) => r.pair === 'ea1->ha1')?.punch, 'birthday', 'easy <-> hard takes the birthday punch')
  })

  it('keeps an idle punched session through short NAT timeouts, recovers after a NAT reboot, and works at 10 % loss', { timeout: 300_000 }, async (t) => {
    const lab = await labFor(t)
    if (!lab) return
    const net = await labNetwork(t, lab)
    const TIMEOUT_S = 3
    // A hard NAT forgets and remaps to new ports: the hardest case for recovery.
    const [h1, h2, h3] = await Promise.all([
      lab.addNattedHost('ha1', 'hard', { udpTimeouts: { udp: TIMEOUT_S, stream: TIMEOUT_S } }),
      lab.addNattedHost('ea2', 'easy'),
      lab.addNattedHost('lossy', 'easy', { lossPercent: 10 }),
    ])
    const [a, b, c] = await Promise.all([net.start(h1, 'ha1'), net.start(h2, 'ea2'), net.start(h3, 'lossy')])
    for (const n of [a, b, c]) await natOf(n)
    for (const n of [a, b, c]) await knows(n, 4)
    const connected = await a.process.command(`connect ${b.id}`)
    assert.equal((connected.peer as { link: string }).link, 'punched')
    const downsBefore = a.process.lines.filter((l) => l.type === 'peer:down').length

    // Keepalive: idle for over three of the NAT's UDP timeouts; the heartbeat's probes keep the mapping.
    const idleMs = 3 * TIMEOUT_S * 1000 + 1_000
    await new Promise((resolve) => setTimeout(resolve, idleMs)) // the idle period under test, not a wait for state
    assert.ok((await h1.nat.udpMappings()).length > 0, 'the NAT still holds the mapping')
    assert.equal((await a.process.command(`send ${b.id} still there?`)).via, 'session')
    assert.equal(a.process.lines.filter((l) => l.type === 'peer:down').length, downsBefore, `no session dropped during ${idleMs} ms idle with a ${TIMEOUT_S} s NAT timeout`)

    // A NAT reboot: every mapping forgotten, new ports from then on. The session with b is
    // opened again (connect keeps it) with no operator: messages flow over a session again.
    const flushedAt = performance.now()
    const since = a.process.lines.length
    await h1.nat.flushConntrack()
    let recoveredMs = -1
    for (let attempt = 0; attempt < 8 && recoveredMs < 0; attempt++) {
      const receipt = await a.process.command(`send ${b.id} after the reboot ${attempt}`, 15_000).catch(() => null)
      if (receipt?.via === 'session') recoveredMs = Math.round(performance.now() - flushedAt)
      else if (receipt === null || receipt.via !== 'session') await a.process.next('peer:up', (l) => (l.peer as { id: string }).id === b.id, 15_000, since).catch(() => null)
    }
    assert.ok(recoveredMs >= 0, 'messages flow over a session with b again after the NAT forgot its mappings')
    const wentDown = a.process.lines.slice(since).some((l) => l.type === 'peer:down')
    t.diagnostic(`after conntrack -F on the hard NAT: a message over a session ${recoveredMs} ms later (${wentDown ? 'the session went down and was opened again' : 'the session followed'})`)

    // 10 % loss each way on a NAT's WAN side: a session opens and every message arrives.
    const lossyStarted = performance.now()
    const lossy = await a.process.command(`connect ${c.id}`, 45_000)
    const sessionMs = Math.round(performance.now() - lossyStarted)
    for (let i = 0; i < 20; i++) assert.equal((await a.process.command(`send ${c.id} lossy ${i}`, 30_000)).delivered, true)
    for (let i = 0; i < 20; i++) await c.process.next('message', (l) => l.text === `lossy ${i}`)
    t.diagnostic(`at 10 % loss: ${String((lossy.peer as { link: string }).link)} session in ${sessionMs} ms, 20 of 20 messages acknowledged and received`)
  })
})

