/**
 * Real `overlay` processes in NAT lab namespaces: one public bootstrap node
 * (STUN server and relay), a second public node (a second STUN server, so
 * nodes can tell easy NATs from hard ones), and nodes behind NATs of each
 * kind. Every node has its own data directory; all share one development CA
 * in a temp directory (the bootstrap node creates it first).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { TestContext } from 'node:test'
import type { Lab, LabHost } from '../lab/index.js'
import { OverlayProcess, type JsonLine } from '../../helpers/overlay-process.js'
import { tempDir } from '../../helpers/pki.js'
import { OVERLAY_BIN } from './lab-process.js'

export const PORT = 9000

export interface LabNode {
  host: LabHost
  process: OverlayProcess
  id: string
  name: string
}

export interface LabNetwork {
  dir: string
  config: string
  boot: LabNode
  stun2: LabNode
  start(host: LabHost, name: string, extra?: string[]): Promise<LabNode>
}

/** Only the bootstrap session is made on its own: every other session is asked for, and timed. */
const CONFIG = (dir: string, boot: string, stun2: string): string => `
devCaDir: ${path.join(dir, 'ca')}
stun:
  - ${boot}:${PORT}
  - ${stun2}:${PORT}
peers:
  target: 1
  max: 64
`

export async function labNetwork(t: TestContext, lab: Lab): Promise<LabNetwork> {
  const dir = await tempDir('overlay-nat-')
  const [bootHost, stunHost] = await Promise.all([lab.addPublicHost('boot'), lab.addPublicHost('stun2')])
  const config = path.join(dir, 'node.yaml')
  await fs.writeFile(config, CONFIG(dir, bootHost.address, stunHost.address))
  const start = async (host: LabHost, name: string, extra: string[] = []): Promise<LabNode> => {
    const args = [OVERLAY_BIN, 'start', String(PORT), '--config', config, '--name', name, '--data-dir', path.join(dir, name), '--no-dashboard', '--json', ...extra]
    const child = lab.spawnNode(host, args)
    const node = await OverlayProcess.attach(t, child, args)
    return { host, process: node, id: node.ready.nodeId, name }
  }
  const boot = await start(bootHost, 'boot')
  const stun2 = await start(stunHost, 'stun2', ['--bootstrap', `${bootHost.address}:${PORT}`])
  return {
    dir,
    config,
    boot,
    stun2,
    start: (host, name, extra = []) => start(host, name, ['--bootstrap', `${bootHost.address}:${PORT}`, ...extra]),
  }
}

/** The node's netcheck verdict (the first one that is not 'unknown'). */
export async function natOf(node: LabNode, ms = 30_000): Promise<JsonLine> {
  return node.process.next('netcheck', (l) => l.nat !== 'unknown', ms)
}

/** Polls `peers` until the node knows at least `count` other nodes (records arrive through the bootstrap node). */
export async function knows(node: LabNode, count: number, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms
  for (;;) {
    const since = node.process.lines.length
    const result = await node.process.command('peers')
    if (Number(result.known) >= count) return
    const left = deadline - performance.now()
    if (left <= 0) throw new Error(`${node.name} knows ${String(result.known)} peers, not ${count}`)
    // Wait for the next record it learns of, then count again.
    await node.process.next('record', () => true, left, since)
  }
}
