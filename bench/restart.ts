/**
 * Section "restart": a node restarts while its bootstrap node is gone and
 * finds its network again from its peer cache (LevelDB in its data dir).
 * Three keepers and a bootstrap node; the returner joins through the
 * bootstrap node and meets the keepers; the bootstrap node is stopped for
 * good. Then, again and again, the returner goes away and a new OverlayNode
 * with the same identity and data dir starts in this process: timed from
 * start() to its first peer:up, and to sessions with all three keepers. Two
 * ways to go: a graceful stop() (LEAVE to every peer), and a crash: the
 * returner runs in a process of its own (node-child.ts) that is killed with
 * SIGKILL, so the keepers still hold the dead session when it comes back.
 *
 * Process start-up (loading the code) is not included; the soak measures
 * whole process restarts (npm run soak -- --churn).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { OverlayNode } from '../src/node/node.js'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import { ChildNode, createNode, nodeCredentials, stopNodes, whenEvent } from './overlay-net.js'
import { round, summarize } from './stats.js'
import { withCleanup } from './wait.js'

const KEEPERS = 3
const JOIN_TIMEOUT_MS = 30_000
const RECONNECT_TIMEOUT_MS = 30_000

interface Restart {
  how: 'stop' | 'crash'
  first_peer_ms: number
  all_peers_ms: number
}

export const restartSection: BenchSection = {
  name: 'restart',
  title: `Restart to reconnected from the peer cache, bootstrap node gone (${KEEPERS} cached peers, default settings)`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const rounds = ctx.scale.quick ? 2 : 10
    const [bootCreds, returnerCreds, ...keeperCreds] = await nodeCredentials(ctx.fixture, KEEPERS + 2)
    if (!bootCreds || !returnerCreds) throw new Error('unreachable')
    const dataDir = await fs.mkdtemp(path.join(ctx.fixture.dir, 'returner-'))
    const boot = createNode(bootCreds)
    const keepers = keeperCreds.map((c) => createNode(c))
    const returners: OverlayNode[] = []
    return withCleanup(
      async () => {
        await boot.start()
        const options = { dataDir, bootstrap: [boot.address] }
        await Promise.all(
          keepers.map(async (k) => {
            await k.start()
            await k.connect(boot.address)
          }),
        )
        let returner = createNode(returnerCreds, options)
        returners.push(returner)
        await returner.start()
        const hasAll = (r: OverlayNode): boolean => keepers.every((k) => r.session(k.nodeId) !== undefined && k.session(r.nodeId) !== undefined)
        await whenEvent([returner, ...keepers], 'peer:up', () => hasAll(returner), JOIN_TIMEOUT_MS, 'the returner to meet every keeper')
        await boot.stop()

        const restarts: Restart[] = []
        for (let i = 0; i < rounds; i++) {
          const how = i % 2 === 0 ? 'stop' : 'crash'
          await returner.stop()
          if (how === 'crash') {
            // The same node, from the same data dir, in a process of its own; then SIGKILL.
            const child = new ChildNode(returnerCreds, { dataDir, bootstrap: options.bootstrap.map((a) => `${a.host}:${a.port}`) })
            try {
              await whenEvent(keepers, 'peer:up', () => keepers.every((k) => k.session(returnerCreds.identity.nodeId) !== undefined), RECONNECT_TIMEOUT_MS, 'the returner process to reconnect to every keeper')
            } finally {
              await child.kill()
            }
          }
          returner = createNode(returnerCreds, options)
          returners.push(returner)
          const r = returner
          let firstPeerAt = 0
          r.once('peer:up', () => (firstPeerAt = performance.now()))
          const startedAt = performance.now()
          await r.start()
          // Its own first 'peer:up' too: every keeper may hold a session with it (and say peer:up)
          // a moment before the returner has exchanged HELLO on its first one and announced it.
          await whenEvent([r, ...keepers], 'peer:up', () => firstPeerAt > 0 && hasAll(r), RECONNECT_TIMEOUT_MS, `the returner, restarted after a ${how}, to reconnect to every keeper`)
          restarts.push({ how, first_peer_ms: firstPeerAt - startedAt, all_peers_ms: performance.now() - startedAt })
        }
        const of = (how: Restart['how'], key: 'first_peer_ms' | 'all_peers_ms') => summarize(restarts.filter((r) => r.how === how).map((r) => r[key]))
        const stopFirst = of('stop', 'first_peer_ms')
        const stopAll = of('stop', 'all_peers_ms')
        const crashFirst = of('crash', 'first_peer_ms')
        const crashAll = of('crash', 'all_peers_ms')
        ctx.progress(`restart: ${rounds} restarts from the cache`)
        return {
          figures: [
            { key: 'restart_first_peer_ms', label: 'restart (after stop) to the first session from the cache, p50 (ms)', better: 'lower', headline: true, overlay: round(stopFirst.p50) },
            { key: 'restart_all_peers_ms', label: `restart (after stop) to sessions with all ${KEEPERS} cached peers, p50 (ms)`, better: 'lower', overlay: round(stopAll.p50) },
            { key: 'restart_after_crash_first_peer_ms', label: 'restart (after SIGKILL) to the first session, p50 (ms)', better: 'lower', overlay: round(crashFirst.p50) },
            { key: 'restart_after_crash_all_peers_ms', label: `restart (after SIGKILL) to sessions with all ${KEEPERS}, p50 (ms)`, better: 'lower', overlay: round(crashAll.p50) },
          ],
          data: { rounds, keepers: KEEPERS, restarts, stop: { first_peer_ms: stopFirst, all_peers_ms: stopAll }, crash: { first_peer_ms: crashFirst, all_peers_ms: crashAll } },
          notes: [
            `after stop(): first peer ${Math.round(stopFirst.min)}-${Math.round(stopFirst.max)} ms, all ${KEEPERS} ${Math.round(stopAll.min)}-${Math.round(stopAll.max)} ms`,
            `after SIGKILL: first peer ${Math.round(crashFirst.min)}-${Math.round(crashFirst.max)} ms, all ${KEEPERS} ${Math.round(crashAll.min)}-${Math.round(crashAll.max)} ms (the keepers still hold the dead session for up to the heartbeat timeout)`,
          ],
        }
      },
      () => stopNodes([boot, ...keepers, ...returners]),
    )
  },
}
