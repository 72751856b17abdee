/**
 * Section "failure": how long after a node dies its neighbours declare it
 * down, with the default heartbeat (a PING a second, down after 3 s of
 * silence). Four neighbours (in this process) hold a session with a victim
 * in a process of its own (node-child.ts); the victim is killed with SIGKILL
 * at a random moment of the heartbeat cycle, and each neighbour's peer:down
 * is timed from that moment. (node.abort() in-process would not do: UDX tells
 * the peers the streams are gone, and they notice within milliseconds.)
 *
 * Anchors: memberlist declares a member dead 1.5-8 s after it stops;
 * Tailscale trusts a silent path for 6.5 s; Nebula drops a dead tunnel after
 * about 15 s.
 */
import type { OverlayError } from '../src/errors.js'
import { DEFAULT_HEARTBEAT } from '../src/node/defaults.js'
import type { OverlayNode, OverlaySession } from '../src/node/node.js'
import { ANCHORS } from './anchors.js'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import type { NodeCredentials } from './fixture.js'
import { ChildNode, createNode, nodeCredentials, stopNodes, whenEvent } from './overlay-net.js'
import { round, seededRandom, summarize } from './stats.js'
import { within, withCleanup } from './wait.js'

const NEIGHBOURS = 4
/** Sessions only where the bench opens them: no discovery dialing the dead victim meanwhile. */
const MANUAL = { peers: { target: 0 } }
const SETUP_TIMEOUT_MS = 20_000
const DETECT_TIMEOUT_MS = 15_000

interface Trial {
  /** Per neighbour: ms from the abort to its peer:down. */
  detected_ms: number[]
  reasons: string[]
}

async function trial(neighbours: OverlayNode[], creds: NodeCredentials, phaseMs: number): Promise<Trial> {
  const victim = new ChildNode(creds, { connect: neighbours.map((n) => `${n.address.host}:${n.address.port}`), peers: { target: 0 } })
  try {
    const victimId = creds.identity.nodeId
    await whenEvent(neighbours, 'peer:up', () => neighbours.every((n) => n.session(victimId) !== undefined), SETUP_TIMEOUT_MS, 'every neighbour to hold a session with the victim')
    // Steady state: a heartbeat round trip on every session, then a random point of the cycle.
    await within(SETUP_TIMEOUT_MS, Promise.all(neighbours.map((n) => nextRtt(n, victimId))), 'a heartbeat round trip on every session with the victim')
    await new Promise<void>((resolve) => setTimeout(resolve, phaseMs)) // pacing: the moment of death within the heartbeat cycle
    let killedAt = 0
    const detected = neighbours.map(
      (n) =>
        new Promise<{ ms: number; reason: string }>((resolve) => {
          const onDown = (session: OverlaySession, error: OverlayError | null): void => {
            if (session.peerId !== victimId) return
            n.off('peer:down', onDown)
            resolve({ ms: performance.now() - killedAt, reason: error?.code ?? 'closed' })
          }
          n.on('peer:down', onDown)
        }),
    )
    killedAt = performance.now()
    await victim.kill()
    const results = await within(DETECT_TIMEOUT_MS, Promise.all(detected), 'every neighbour to declare the victim down')
    return { detected_ms: results.map((r) => r.ms), reasons: results.map((r) => r.reason) }
  } finally {
    await victim.kill()
  }
}

function nextRtt(node: OverlayNode, peer: string): Promise<void> {
  return new Promise((resolve) => {
    const onRtt = (from: string): void => {
      if (from !== peer) return
      node.off('heartbeat:rtt', onRtt)
      resolve()
    }
    node.on('heartbeat:rtt', onRtt)
  })
}

export const failureSection: BenchSection = {
  name: 'failure',
  title: `Failure detection: a node dies, its ${NEIGHBOURS} neighbours declare it down (default heartbeat ${DEFAULT_HEARTBEAT.intervalMs}/${DEFAULT_HEARTBEAT.timeoutMs} ms)`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const trials = ctx.scale.quick ? 3 : 12
    const creds = await nodeCredentials(ctx.fixture, NEIGHBOURS + trials)
    const neighbours = creds.slice(0, NEIGHBOURS).map((c) => createNode(c, MANUAL))
    const random = seededRandom(7)
    return withCleanup(
      async () => {
        await Promise.all(neighbours.map((n) => n.start()))
        const all: number[] = []
        const reasons = new Map<string, number>()
        for (let i = 0; i < trials; i++) {
          const result = await trial(neighbours, creds[NEIGHBOURS + i] as NodeCredentials, random() * DEFAULT_HEARTBEAT.intervalMs)
          all.push(...result.detected_ms)
          for (const r of result.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1)
        }
        ctx.progress(`failure: ${trials} victims, ${all.length} detections`)
        const s = summarize(all)
        const beats = s.max < ANCHORS.memberlist_detect_min_ms ? 'faster than all three' : s.max < ANCHORS.tailscale_trust_ms ? 'within memberlist\'s range, faster than Tailscale and Nebula' : 'NOT faster than Tailscale'
        return {
          figures: [
            { key: 'failure_detect_p50_ms', label: 'killed node declared down by a neighbour, p50 (ms)', better: 'lower', headline: true, overlay: round(s.p50) },
            { key: 'failure_detect_p99_ms', label: `... p99 (ms, ${all.length} detections)`, better: 'lower', overlay: round(s.p99) },
            { key: 'failure_detect_max_ms', label: '... max (ms)', better: 'lower', overlay: round(s.max) },
          ],
          data: { trials, neighbours: NEIGHBOURS, heartbeat: DEFAULT_HEARTBEAT, detected_ms: s, reasons: Object.fromEntries(reasons), anchors: { memberlist_ms: [ANCHORS.memberlist_detect_min_ms, ANCHORS.memberlist_detect_max_ms], tailscale_trust_ms: ANCHORS.tailscale_trust_ms, nebula_dead_tunnel_ms: ANCHORS.nebula_dead_tunnel_ms } },
          notes: [
            `detected after ${Math.round(s.min)}-${Math.round(s.max)} ms (p50 ${Math.round(s.p50)}): memberlist 1.5-8 s, Tailscale 6.5 s, Nebula ~15 s: ${beats}`,
            `reasons: ${[...reasons].map(([k, v]) => `${k} ${v}`).join(', ')}`,
          ],
        }
      },
      () => stopNodes(neighbours),
    )
  },
}
