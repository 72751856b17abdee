/**
 * npm run demo: a local network of five overlay nodes (one bootstrap node,
 * four that join through it), each a real `overlay start` process with its
 * own data dir under .overlay/demo/ and its dashboard on a free port. Type
 * "<node> <command>" to drive any of them; Ctrl-C stops them all gracefully
 * (each sends LEAVE to its peers), then the demo exits.
 *
 * The nodes run from source (scripts/overlay.ts, through tsx) with the
 * development CA in certs/dev, so a node you start yourself from this
 * directory (npx overlay start ...) trusts them and can join.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const DEMO_DIR = path.join(ROOT, '.overlay', 'demo')
const ENTRY = path.join(ROOT, 'scripts', 'overlay.ts')
const TSX = import.meta.resolve('tsx')
const NAMES = ['boot', 'alpha', 'beta', 'gamma', 'delta'] as const
const READY_TIMEOUT_MS = 60_000
const EXIT_TIMEOUT_MS = 10_000
const FORM_TIMEOUT_MS = 30_000

interface Line {
  type: string
  [key: string]: unknown
}

interface DemoNode {
  name: string
  child: ChildProcess
  /** Names of the peers it has a session with, from its peer:up and peer:down lines. */
  peers: Set<string>
  ready: Promise<Line>
  exited: Promise<number | null>
  log: string
}

function say(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** Peers coming up while the network forms are not news: node lines are shown once the banner is out. */
let showLines = false

function start(name: string, bootstrap: string | null): DemoNode {
  const args = ['start', '--host', '127.0.0.1', '--port', '0', '--name', name, '--data-dir', path.join(DEMO_DIR, name), '--dashboard', '127.0.0.1:0', '--json']
  if (bootstrap) args.push('--bootstrap', bootstrap)
  // Its own process group: Ctrl-C is the demo's to handle (it tells each node to exit, in order).
  const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe', 'ipc'], detached: true })
  const log = path.join(DEMO_DIR, `${name}.log`)
  child.stderr?.pipe(createWriteStream(log))
  let onReady!: (line: Line) => void
  let timer: NodeJS.Timeout | undefined
  const ready = new Promise<Line>((resolve, reject) => {
    onReady = resolve
    timer = setTimeout(() => reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s (see ${path.relative(ROOT, log)})`)), READY_TIMEOUT_MS)
    child.once('exit', (code) => reject(new Error(`${name} exited with status ${code} while starting (see ${path.relative(ROOT, log)})`)))
  })
  ready.then(() => clearTimeout(timer), () => clearTimeout(timer))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (raw) => {
    let line: Line
    try {
      line = JSON.parse(raw) as Line
    } catch {
      return say(`[${name}] ${raw}`)
    }
    if (line.type === 'ready') onReady(line)
    const peer = (line.peer as { name?: string } | undefined)?.name
    if (peer !== undefined && line.type === 'peer:up') peers.add(peer)
    if (peer !== undefined && line.type === 'peer:down') peers.delete(peer)
    if (line.type === 'peer:up' || line.type === 'peer:down') formed.emit('change')
    if (showLines && line.type !== 'ready') show(name, line)
  })
  const peers = new Set<string>()
  return { name, child, peers, ready, exited, log }
}

const formed = new EventEmitter<{ change: [] }>()

/** Every node has a session with every other (five nodes, below the default target of 6: they all meet). */
function whenFormed(nodes: DemoNode[], ms: number): Promise<boolean> {
  const done = (): boolean => nodes.every((n) => n.peers.size === nodes.length - 1)
  if (done()) return Promise.resolve(true)
  return new Promise((resolve) => {
    const check = (): void => {
      if (!done()) return
      finish(true)
    }
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      formed.off('change', check)
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), ms)
    formed.on('change', check)
  })
}

/** A node's output line, for people. */
function show(name: string, line: Line): void {
  const peer = line.peer as { name?: string } | undefined
  switch (line.type) {
    case 'peer:up':
      return say(`[${name}] + ${peer?.name} is up`)
    case 'peer:down':
      return say(`[${name}] - ${peer?.name} is down (${String(line.reason)})`)
    case 'message':
      return say(`[${name}] ${line.broadcast ? 'broadcast' : 'message'} from ${String(line.name)}: ${String(line.text)}`)
    case 'error':
      return say(`[${name}] error: ${String(line.message)} [${String(line.code)}]`)
    case 'warning':
      return say(`[${name}] warning: ${String(line.text)}`)
    case 'warning:cleared':
      return say(`[${name}] warning cleared: ${String(line.text)}`)
    case 'record':
      return // every peer record learned, over and over as they are refreshed: not news here
    case 'netcheck':
      return say(`[${name}] netcheck: NAT ${String(line.nat)}${line.reflexive ? `, reachable at ${String(line.reflexive)}` : ''}`)
    case 'punch':
      return say(`[${name}] hole punch ${line.ok ? 'opened a path' : 'failed'} (${String(line.method)}, ${String(line.ms)} ms)`)
    case 'upnp':
      return say(`[${name}] UPnP: ${line.mapped ? `port mapped at ${String(line.mapped)}` : 'mapping gone'}`)
    case 'result':
      return say(`[${name}] ${result(line)}`)
    default:
      return say(`[${name}] ${JSON.stringify(line)}`)
  }
}

function result(line: Line): string {
  const { type: _type, command, ...rest } = line
  if (command === 'peers') {
    const peers = (line.peers as Array<{ name: string; address: string; rttMs: number | null }>).map((p) => `${p.name} (${p.address}${p.rttMs === null ? '' : `, ${p.rttMs.toFixed(1)} ms`})`)
    return `peers: ${peers.join(', ') || 'none'}; ${String(line.known)} known`
  }
  if (command === 'send') return `delivered to ${String(line.name)} (${String(line.via)}, ${String(line.hops)} hop(s), ${String(line.rttMs)} ms)`
  if (command === 'broadcast') return `broadcast sent to ${String(line.sentTo)} peer(s)`
  if (command === 'ping') return `pong from ${String(line.name)}: ${String(line.rttMs)} ms (${String(line.via)})`
  if (command === 'help') return `commands: ${(line.commands as Array<{ usage: string }>).map((c) => c.usage).join(' | ')}`
  return `${String(command)}: ${JSON.stringify(rest)}`
}

/** One at a time, joiners first: each says LEAVE and its peers drop it at once. */
async function stopAll(nodes: DemoNode[]): Promise<void> {
  say('stopping: each node tells its peers it is leaving...')
  for (const node of [...nodes].reverse()) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) continue
    node.child.stdin?.write('exit\n')
    let timer: NodeJS.Timeout | undefined
    const code = await Promise.race([node.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS)))])
    clearTimeout(timer)
    if (code === 'timeout') {
      say(`${node.name} did not stop within ${EXIT_TIMEOUT_MS / 1000} s: killed`)
      node.child.kill('SIGKILL')
      await node.exited
    }
  }
  say('all five stopped')
}

async function main(): Promise<number> {
  await fs.mkdir(DEMO_DIR, { recursive: true, mode: 0o700 })
  say(`starting five overlay nodes (data and logs in ${path.relative(process.cwd(), DEMO_DIR) || DEMO_DIR})...`)
  const nodes: DemoNode[] = []
  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> => (stopping ??= stopAll(nodes))
  let input: readline.Interface | null = null
  const onSignal = (): void => void stop()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const boot = start(NAMES[0], null)
    nodes.push(boot)
    const bootReady = await boot.ready
    for (const name of NAMES.slice(1)) nodes.push(start(name, String(bootReady.address)))
    const ready = [bootReady, ...(await Promise.all(nodes.slice(1).map((n) => n.ready)))]
    const bootPort = String(bootReady.address).split(':')[1]
    // Commands typed before the nodes have met would only find "no peers".
    const met = await whenFormed(nodes, FORM_TIMEOUT_MS)
    if (!met) say(`the nodes have not all met within ${FORM_TIMEOUT_MS / 1000} s: ${nodes.map((n) => `${n.name} has ${n.peers.size} peer(s)`).join(', ')}`)
    say('')
    say(`five nodes on 127.0.0.1${met ? ', each with a session to the four others' : ''}:`)
    for (const [i, line] of ready.entries()) {
      say(`  ${NAMES[i]?.padEnd(6)} udp ${String(line.address).padEnd(16)} id ${String(line.nodeId).slice(0, 12)}  dashboard ${String(line.dashboard ?? '-')}`)
    }
    say('')
    say('talk to them here: type "<node> <command>" (or "all <command>"), for example')
    say('  alpha peers')
    say('  alpha send delta hello from alpha')
    say('  gamma broadcast hello everyone')
    say('  beta ping boot')
    say('  boot help')
    say('join them from another terminal, from this directory, with a node of your own:')
    say(`  npx overlay start 0 127.0.0.1 ${bootPort} --name you --data-dir .overlay/demo/you   (runs dist/: npm run build after changing src/)`)
    say('Ctrl-C stops them all (each says LEAVE to its peers first).')
    say('')
    showLines = true
    input = readline.createInterface({ input: process.stdin, terminal: false })
    input.on('line', (raw) => {
      const text = raw.trim()
      if (text === '') return
      const [target, ...rest] = text.split(/\s+/)
      const command = rest.join(' ')
      const chosen = target === 'all' ? nodes : nodes.filter((n) => n.name === target)
      if (chosen.length === 0 || command === '') return say(`type "<node> <command>" with <node> one of ${NAMES.join(', ')} or all; "boot help" lists the commands`)
      for (const node of chosen) node.child.stdin?.write(`${command}\n`)
    })
    // Keep running until Ctrl-C (or a node dies), whether or not stdin stays open.
    await Promise.race([new Promise<void>((resolve) => process.once('SIGINT', () => resolve()).once('SIGTERM', () => resolve())), ...nodes.map((n) => n.exited.then((code) => void (stopping ?? say(`${n.name} exited (status ${code}): stopping the others`))))])
    await stop()
    return 0
  } catch (err) {
    say(`demo: ${(err as Error).message}`)
    await stop()
    return 1
  } finally {
    input?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

process.exitCode = await main()
