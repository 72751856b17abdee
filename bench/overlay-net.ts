/**
 * Networks of real OverlayNodes in this process for the network sections
 * (broadcast, failure detection, restart): one network CA and as many node
 * certificates as needed, made once per run in the bench's temp dir, and
 * helpers that wait for what the nodes say (events), never for a time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Identity } from '../src/identity/identity.js'
import { OverlayNode, type OverlayNodeInit } from '../src/node/node.js'
import { createCa, type NetworkCa } from '../src/session/pki/ca.js'
import { issueNodeCertificate } from '../src/session/pki/node-cert.js'
import type { Fixture, NodeCredentials } from './fixture.js'
import { within } from './wait.js'

export type NodeOptions = Omit<OverlayNodeInit, 'identity' | 'credentials'>

const cas = new WeakMap<Fixture, Promise<NetworkCa>>()
const issued = new WeakMap<Fixture, NodeCredentials[]>()
/** Where each node's credentials are written, for node-child.ts. */
const credentialDirs = new WeakMap<NodeCredentials, string>()

/** Credentials for `count` nodes (made once per fixture, reused by every section), also written to files. */
export async function nodeCredentials(fixture: Fixture, count: number): Promise<NodeCredentials[]> {
  let ca = cas.get(fixture)
  if (ca === undefined) {
    ca = createCa(path.join(fixture.dir, 'network-ca'), { name: 'p2p-overlay bench network CA' })
    cas.set(fixture, ca)
  }
  const network = await ca
  const list = issued.get(fixture) ?? []
  issued.set(fixture, list)
  while (list.length < count) {
    const identity = Identity.generate()
    const name = `bench-n${list.length}`
    const cert = issueNodeCertificate({ ca: network, name, nodeId: identity.nodeId, days: 2 })
    const creds: NodeCredentials = { name, identity, credentials: { ca: network.certPem, cert: cert.certPem, key: cert.keyPem } }
    const dir = path.join(fixture.dir, 'network', name)
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    await identity.save(path.join(dir, 'identity.pem'))
    await fs.writeFile(path.join(dir, 'ca.crt'), network.certPem)
    await fs.writeFile(path.join(dir, 'node.crt'), cert.certPem)
    await fs.writeFile(path.join(dir, 'node.key'), cert.keyPem, { mode: 0o600 })
    credentialDirs.set(creds, dir)
    list.push(creds)
  }
  return list.slice(0, count)
}

export async function loadNodeCredentials(dir: string): Promise<NodeCredentials> {
  const read = (file: string): Promise<string> => fs.readFile(path.join(dir, file), 'utf8')
  return { name: path.basename(dir), identity: await Identity.load(path.join(dir, 'identity.pem')), credentials: { ca: await read('ca.crt'), cert: await read('node.crt'), key: await read('node.key') } }
}

const NODE_CHILD = fileURLToPath(new URL('./node-child.ts', import.meta.url))

/** A node in a process of its own (node-child.ts): to be killed for real. The bench waits on its peers' events, not its output. */
export class ChildNode {
  readonly child: ChildProcess
  readonly exited: Promise<void>

  constructor(creds: NodeCredentials, options: { dataDir?: string; bootstrap?: string[]; connect?: string[]; peers?: { target?: number } }) {
    const dir = credentialDirs.get(creds)
    if (dir === undefined) throw new Error(`no credential files for ${creds.name}`)
    this.child = spawn(process.execPath, [...process.execArgv, NODE_CHILD, dir, JSON.stringify(options)], { stdio: ['pipe', 'ignore', 'inherit'] })
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
  }

  /** SIGKILL: the process dies without a word. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

export function createNode(creds: NodeCredentials, options: NodeOptions = {}): OverlayNode {
  return new OverlayNode({ host: '127.0.0.1', identity: creds.identity, credentials: creds.credentials, ...options })
}

export async function stopNodes(nodes: Iterable<OverlayNode>): Promise<void> {
  await Promise.all([...nodes].map((node) => node.stop()))
}

/**
 * Resolves once `test()` holds, checked now and after every `event` from any
 * of `nodes`; rejects after `ms` with `what` in the message.
 */
export function whenEvent(nodes: readonly OverlayNode[], event: 'peer:up' | 'peer:down' | 'session:up' | 'session:down' | 'broadcast', test: () => boolean, ms: number, what: string): Promise<void> {
  if (test()) return Promise.resolve()
  let check: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    check = () => {
      if (test()) resolve()
    }
    for (const node of nodes) node.on(event, check)
  })
  return within(ms, done, what).finally(() => {
    for (const node of nodes) node.off(event, check)
  })
}

/** Nodes reachable from the first over sessions (both ends must hold the session). */
export function connected(nodes: readonly OverlayNode[]): boolean {
  if (nodes.length === 0) return true
  const byId = new Map(nodes.map((n) => [n.nodeId, n]))
  const seen = new Set<string>([(nodes[0] as OverlayNode).nodeId])
  const queue = [nodes[0] as OverlayNode]
  while (queue.length > 0) {
    const node = queue.pop() as OverlayNode
    for (const session of node.sessions()) {
      const peer = byId.get(session.peerId)
      if (peer && !seen.has(peer.nodeId) && peer.session(node.nodeId)) {
        seen.add(peer.nodeId)
        queue.push(peer)
      }
    }
  }
  return seen.size === nodes.length
}

/** Sessions per node: mean, min, max. */
export function degrees(nodes: readonly OverlayNode[]): { mean: number; min: number; max: number } {
  const d = nodes.map((n) => n.sessions().length)
  return { mean: d.reduce((a, b) => a + b, 0) / d.length, min: Math.min(...d), max: Math.max(...d) }
}
