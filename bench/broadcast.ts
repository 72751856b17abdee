/**
 * Section "broadcast": how fast a broadcast reaches every node, and what the
 * flood costs, in networks of 10 and 50 nodes that are not a full mesh: the
 * topology is what discovery builds with a small peers.target (3): every node
 * joins through node 0 and dials peers it learns of until it holds 3 sessions
 * (it also accepts sessions from others, up to peers.max).
 *
 * For each broadcast, from a random origin: the time until the last node has
 * delivered it (p50/p99 over the broadcasts), and the BROADCAST frames sent
 * over all sessions divided by the nodes it reached (the origin's sends plus
 * every forward; a flood sends about the mean degree minus one per node).
 * The next broadcast starts once every frame of the last one has arrived.
 *
 * All nodes share this process and its event loop, so a hop's work at every
 * node is serialised: the times are an upper bound for the same network
 * spread over machines. Anchor: gossipsub sends each message about D = 6
 * times per node.
 */
import type { BroadcastDelivery } from '../src/messaging/broadcast.js'
import type { OverlayNode } from '../src/node/node.js'
import { ANCHORS } from './anchors.js'
import type { BenchContext, BenchSection, Figure, SectionResult } from './harness.js'
import { connected, createNode, degrees, nodeCredentials, stopNodes, whenEvent } from './overlay-net.js'
import { round, seededRandom, summarize } from './stats.js'
import { within, withCleanup } from './wait.js'

/** peers.target of every node: small, so that 10 nodes are not a mesh either. */
const TARGET = 3
const FORM_TIMEOUT_MS = 60_000
const DELIVERY_TIMEOUT_MS = 10_000

interface FloodFigures {
  nodes: number
  broadcasts: number
  degree: { mean: number; min: number; max: number }
  propagation_ms: ReturnType<typeof summarize>
  frames_per_node: number
  duplicates_per_node: number
  max_hops: number
}

function totals(nodes: readonly OverlayNode[]): { forwarded: number; received: number; duplicates: number } {
  let forwarded = 0
  let received = 0
  let duplicates = 0
  for (const node of nodes) {
    const s = node.services.broadcast.stats
    forwarded += s.forwarded
    received += s.delivered + s.duplicates + s.rejected
    duplicates += s.duplicates
  }
  return { forwarded, received, duplicates }
}

/** Resolves once `test()` holds, checked now and after every broadcast any node drops (a duplicate). */
function whenDropped(nodes: readonly OverlayNode[], test: () => boolean, ms: number, what: string): Promise<void> {
  if (test()) return Promise.resolve()
  let check: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    check = () => {
      if (test()) resolve()
    }
    for (const node of nodes) node.services.broadcast.on('dropped', check)
  })
  return within(ms, done, what).finally(() => {
    for (const node of nodes) node.services.broadcast.off('dropped', check)
  })
}

async function flood(ctx: BenchContext, size: number, count: number, seed: number): Promise<FloodFigures> {
  const creds = await nodeCredentials(ctx.fixture, size)
  const options = { peers: { target: TARGET } }
  const nodes: OverlayNode[] = []
  return withCleanup(
    async () => {
      const boot = createNode(creds[0] as (typeof creds)[number], options)
      nodes.push(boot)
      await boot.start()
      for (const c of creds.slice(1)) nodes.push(createNode(c, { ...options, bootstrap: [boot.address] }))
      await Promise.all(nodes.slice(1).map((n) => n.start()))
      const want = Math.min(TARGET, size - 1)
      await whenEvent(nodes, 'peer:up', () => nodes.every((n) => n.sessions().length >= want) && connected(nodes), FORM_TIMEOUT_MS, `${size} nodes to hold ${want} sessions each`)
      const degree = degrees(nodes)
      ctx.progress(`broadcast: ${size} nodes, ${degree.mean.toFixed(1)} sessions per node (${degree.min}-${degree.max}); ${count} broadcasts`)

      const random = seededRandom(seed)
      const times: number[] = []
      let frames = 0
      let duplicates = 0
      let maxHops = 0
      for (let b = 0; b < count; b++) {
        const origin = nodes[Math.floor(random() * size)] as OverlayNode
        const before = totals(nodes)
        let reached = 0
        let lastAt = 0
        // Deliveries come from the network, never within broadcast(): seq is known before the first.
        let seq = -1
        const onDelivered = (d: BroadcastDelivery): void => {
          if (d.origin !== origin.nodeId || d.seq !== seq) return
          reached++
          lastAt = performance.now()
          maxHops = Math.max(maxHops, d.hops)
        }
        for (const node of nodes) node.on('broadcast', onDelivered)
        try {
          const sentAt = performance.now()
          const sent = origin.broadcast(`bench broadcast ${b}`)
          seq = sent.seq
          await whenEvent(nodes, 'broadcast', () => reached === size - 1, DELIVERY_TIMEOUT_MS, `broadcast ${b} to reach all ${size - 1} other nodes (reached ${reached})`)
          times.push(lastAt - sentAt)
          // Settle: every frame of this flood has arrived (delivered or dropped as a duplicate).
          const sentFrames = (): number => sent.sentTo + totals(nodes).forwarded - before.forwarded
          const settled = (): boolean => totals(nodes).received - before.received >= sentFrames()
          await whenDropped(nodes, settled, DELIVERY_TIMEOUT_MS, `every frame of broadcast ${b} to arrive`)
          const after = totals(nodes)
          frames += sent.sentTo + after.forwarded - before.forwarded
          duplicates += after.duplicates - before.duplicates
        } finally {
          for (const node of nodes) node.off('broadcast', onDelivered)
        }
      }
      return {
        nodes: size,
        broadcasts: count,
        degree: { mean: round(degree.mean, 3), min: degree.min, max: degree.max },
        propagation_ms: summarize(times),
        frames_per_node: frames / count / (size - 1),
        duplicates_per_node: duplicates / count / (size - 1),
        max_hops: maxHops,
      }
    },
    () => stopNodes(nodes),
  )
}

export const broadcastSection: BenchSection = {
  name: 'broadcast',
  title: `Broadcast propagation and redundancy (in-process nodes, topology by discovery, peers.target ${TARGET})`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const count = ctx.scale.quick ? 10 : 50
    const runs: FloodFigures[] = []
    for (const size of [10, 50]) runs.push(await flood(ctx, size, count, size))
    const figures: Figure[] = runs.flatMap((r): Figure[] => [
      { key: `bcast_${r.nodes}_p50_ms`, label: `broadcast to all ${r.nodes} nodes, p50 (ms)`, better: 'lower', headline: r.nodes === 50, overlay: round(r.propagation_ms.p50, 3) },
      { key: `bcast_${r.nodes}_p99_ms`, label: `broadcast to all ${r.nodes} nodes, p99 (ms, ${r.broadcasts} broadcasts)`, better: 'lower', overlay: round(r.propagation_ms.p99, 3) },
      { key: `bcast_${r.nodes}_frames_per_node`, label: `frames sent per node reached, ${r.nodes} nodes (gossipsub ~${ANCHORS.gossipsub_frames_per_node})`, better: 'lower', headline: r.nodes === 50, overlay: round(r.frames_per_node, 3) },
      { key: `bcast_${r.nodes}_duplicates_per_node`, label: `duplicates dropped per node reached, ${r.nodes} nodes`, better: 'lower', overlay: round(r.duplicates_per_node, 3) },
      { key: `bcast_${r.nodes}_degree`, label: `sessions per node, ${r.nodes} nodes (built by discovery)`, better: 'lower', compare: false, overlay: r.degree.mean },
    ])
    const notes = runs.map(
      (r) =>
        `${r.nodes} nodes: ${r.degree.mean.toFixed(1)} sessions per node (${r.degree.min}-${r.degree.max}), up to ${r.max_hops} hops; ` +
        `${r.frames_per_node.toFixed(2)} frames per node reached vs gossipsub's ~${ANCHORS.gossipsub_frames_per_node} (${r.frames_per_node < ANCHORS.gossipsub_frames_per_node ? 'fewer' : 'MORE'})`,
    )
    notes.push('all nodes share one process and event loop: propagation times are an upper bound for the same network on separate machines')
    return {
      figures,
      data: { target: TARGET, runs, anchors: { gossipsub_frames_per_node: ANCHORS.gossipsub_frames_per_node } },
      notes,
    }
  },
}
