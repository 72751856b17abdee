/**
 * Networks of real nodes on loopback for overlay tests: one CA, N nodes on
 * port 0, torn down after the test. Wiring is explicit (edges) or left to
 * discovery (bootstrap).
 */
import type { TestContext } from 'node:test'
import type { NetworkCa } from '../../src/session/pki/ca.js'
import type { OverlayNode, OverlayNodeInit } from '../../src/node/node.js'
import { startNode } from './nodes.js'
import { testCa } from './pki.js'
import { until } from './wait.js'

export type NodeOptions = Partial<Omit<OverlayNodeInit, 'identity' | 'credentials'>>

/** Quick heartbeats so liveness tests finish fast. */
export const FAST_HEARTBEAT = { intervalMs: 200, timeoutMs: 1_000 }

let sharedCa: Promise<NetworkCa> | null = null
export function networkCa(): Promise<NetworkCa> {
  sharedCa ??= testCa('overlay test CA')
  return sharedCa
}

export async function startNodes(t: TestContext, count: number, options: NodeOptions | ((i: number) => NodeOptions) = {}): Promise<OverlayNode[]> {
  const ca = await networkCa()
  return Promise.all(
    Array.from({ length: count }, (_, i) => startNode(t, { ca, name: `n${i}`, ...(typeof options === 'function' ? options(i) : options) })),
  )
}

/** Nodes that only hold the sessions they are given (no discovery dialing). */
export const MANUAL: NodeOptions = { peers: { target: 0, max: 64 }, heartbeat: FAST_HEARTBEAT }

/** Opens a session for every edge [a, b] (a dials b) and waits until both ends have it. */
export async function wire(nodes: OverlayNode[], edges: Array<[number, number]>): Promise<void> {
  await Promise.all(edges.map(([a, b]) => (nodes[a] as OverlayNode).connect((nodes[b] as OverlayNode).address)))
  await until(() => edges.every(([a, b]) => (nodes[a] as OverlayNode).session((nodes[b] as OverlayNode).nodeId) && (nodes[b] as OverlayNode).session((nodes[a] as OverlayNode).nodeId)), 10_000, 'every edge up on both ends')
}

/** A line 0-1-2-...-(n-1). */
export function line(n: number): Array<[number, number]> {
  return Array.from({ length: n - 1 }, (_, i) => [i + 1, i] as [number, number])
}

/** A ring with chords every `chord` nodes: connected, not a mesh, with several paths between most pairs. */
export function ringWithChords(n: number, chord: number): Array<[number, number]> {
  const edges: Array<[number, number]> = []
  for (let i = 0; i < n; i++) edges.push([(i + 1) % n, i])
  for (let i = 0; i < n; i += chord) edges.push([(i + Math.floor(n / 2)) % n, i])
  return edges
}
