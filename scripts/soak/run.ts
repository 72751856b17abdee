/**
 * The soak itself: N real `overlay` processes on loopback (one UDP socket and
 * real TLS each, the development CA in a temp dir), joined through node 0,
 * with default heartbeats; steady traffic (acknowledged direct messages
 * between random pairs, broadcasts from random origins); optionally churn
 * (odd-numbered nodes killed with SIGKILL or told to `exit`, then restarted
 * on the same port and data dir); resources sampled over IPC (child.ts) and
 * /proc. Separate processes, so each node's memory, handles and timers are
 * its own and a crash is a crash.
 *
 * The soak's own pacing (traffic, samples, churn) runs on timers; it never
 * sleeps to wait for a state: readiness, peers and answers are lines it waits
 * for, with deadlines.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { percentile, seededRandom, sortedCopy } from '../../bench/stats.js'
import { resourceTrends, verdict, type ResourceRow, type TrendCheck } from './analysis.js'
import { Ledger } from './ledger.js'
import { CommandError, NodeProcess, type ExitInfo, type NodeLine } from './node-process.js'
import type { SoakOptions } from './options.js'
import { Timeline, type FalseDown, type Incarnation, type StopHow } from './timeline.js'

/** The node's default heartbeat timeout (src/node/defaults.ts): how long peers may hold a dead session. */
const HEARTBEAT_TIMEOUT_MS = 3_000
/** A churned node's window stays open this long after it is ready again. */
const CHURN_GRACE_MS = HEARTBEAT_TIMEOUT_MS + 2_000
/** The node's default delivery timeout (src/constants.ts). */
const DELIVERY_TIMEOUT_MS = 10_000
const READY_TIMEOUT_MS = 60_000
const REJOIN_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 15_000
const SAMPLE_TIMEOUT_MS = 15_000
/** Start-ups at once: each compiles the sources (tsx) on a machine that may have two cores. */
const START_CONCURRENCY = 4
/** Sessions each node should hold before traffic starts (the node's default peers.target is 6). */
const FORMATION_PEERS = 3
/** A peer:down more than this long after a churn is not about it. */
const NOTICE_WINDOW_MS = 20_000

export interface ChurnEvent {
  node: number
  how: StopHow
  /** Soak clock, ms. */
  at: number
  downMs: number
  /** From the restart to the `ready` line, and to its first peer:up (ms). */
  readyMs: number | null
  rejoinMs: number | null
  /** kill: time until each neighbour printed peer:down; leave: the same, for the LEAVE. */
  noticedMs: number[]
  /** Downs of it with another reason than expected. */
  noticedOther: string[]
  noticedBy: Set<number>
  exit: { code: number | null; signal: string | null } | null
}

export interface SoakReport {
  soak: 'p2p-overlay'
  ok: boolean
  /** Where the data dirs and the nodes' logs were kept (failed runs, --keep); null when removed. */
  dataDir: string | null
  failures: string[]
  startedAt: string
  command: string
  options: SoakOptions
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string }
  /** Soak clock (s): traffic from, to; trend window from, to. */
  phases: { formedS: number; trafficFromS: number; trafficToS: number; trendFromS: number; trendToS: number; endS: number }
  nodes: Array<{ index: number; name: string; nodeId: string | null; churnable: boolean; incarnations: Array<{ key: string; startedS: number; readyS: number | null; endedS: number | null; stopHow: string | null; exit: { code: number | null; signal: string | null } | null }> }>
  direct: Ledger['direct'] & { ackRttMs: Percentiles | null }
  broadcast: Ledger['broadcast'] & { propagationMs: Percentiles | null }
  lateReceipts: number
  problems: Ledger['problems']
  heartbeats: { missed: number; declaredDown: number; falseDowns: FalseDown[]; expectedDowns: Record<string, number> }
  churn: { events: Array<Omit<ChurnEvent, 'noticedBy'> & { noticedBy: number[] }>; rejoinMs: Percentiles | null; killNoticedMs: Percentiles | null; leaveNoticedMs: Percentiles | null }
  resources: { window: { fromS: number; toS: number }; trends: TrendCheck[]; first: Record<string, ResourceRow>; last: Record<string, ResourceRow>; samples: ResourceRow[] }
  warnings: Record<string, number>
  logs: Record<string, number>
  crashes: string[]
  exits: Array<{ node: number; code: number | null; signal: string | null; ms: number | null }>
}

export interface Percentiles {
  count: number
  p50: number
  p99: number
  max: number
}

export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null
  const sorted = sortedCopy(values)
  const r = (x: number): number => Math.round(x * 10) / 10
  return { count: sorted.length, p50: r(percentile(sorted, 50)), p99: r(percentile(sorted, 99)), max: r(sorted.at(-1) as number) }
}


interface SoakNode {
  index: number
  name: string
  dataDir: string
  churnable: boolean
  port: number
  nodeId: string | null
  proc: NodeProcess | null
  inc: Incarnation | null
  /** Being stopped or restarted by the churn, or shutting down. */
  busy: boolean
  peers: Set<number>
}

type Progress = (message: string) => void

export class Soak {
  readonly #options: SoakOptions
  readonly #progress: Progress
  readonly #random: () => number
  readonly #t0 = performance.now()
  readonly #timeline = new Timeline({ graceMs: CHURN_GRACE_MS })
  readonly #ledger = new Ledger({ settleMs: 3_000, directDeadlineMs: DELIVERY_TIMEOUT_MS * 3, broadcastSettleMs: 5_000, broadcastDeadlineMs: DELIVERY_TIMEOUT_MS * 3 + 5_000 })
  readonly #nodes: SoakNode[] = []
  readonly #byId = new Map<string, number>()
  /** The relay each relayed session came up through, by "observer/peer". */
  readonly #relayOf = new Map<string, number>()
  readonly #rows: ResourceRow[] = []
  readonly #churnEvents: ChurnEvent[] = []
  readonly #crashes: string[] = []
  readonly #rejoinFailures: string[] = []
  readonly #exitFailures: string[] = []
  readonly #errors: string[] = []
  readonly #warnings = new Map<string, number>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #exits: SoakReport['exits'] = []
  /** Every process started, for the log counts at the end. */
  readonly #procs: NodeProcess[] = []
  readonly #lineWaiters = new Set<{ test: (node: number, line: NodeLine | null) => boolean; resolve: () => void }>()
  #dir = ''
  #seq = 0
  #running = false
  #churning: Promise<void> | null = null
  readonly #inflight = new Set<Promise<void>>()
  /** Resolved when the traffic phase ends: the churn loop stops waiting. */
  #trafficOver: () => void = () => {}
  #interrupt: () => void = () => {}
  #interrupted = false
  readonly #trafficOverPromise = new Promise<void>((resolve) => (this.#trafficOver = resolve))

  constructor(options: SoakOptions, progress: Progress) {
    this.#options = options
    this.#progress = progress
    this.#random = seededRandom(options.seed)
  }

  /** Ends the traffic phase now (Ctrl-C): the run still drains, shuts the nodes down and reports. */
  interrupt(): void {
    this.#errors.push('interrupted before the end')
    this.#interrupted = true
    this.#interrupt()
  }

  /** Soak clock: ms since the soak began. */
  #now(at = performance.now()): number {
    return at - this.#t0
  }

  async run(): Promise<SoakReport> {
    const o = this.#options
    const startedAt = new Date()
    this.#dir = await fs.mkdtemp(path.join(os.tmpdir(), 'overlay-soak-'))
    this.#progress(`${o.nodes} nodes, ${o.durationMs / 1000} s of traffic${o.churn ? ' with churn' : ''}, seed ${o.seed}; data in ${this.#dir}`)
    let phases = { formedS: 0, trafficFromS: 0, trafficToS: 0, trendFromS: 0, trendToS: 0, endS: 0 }
    try {
      await this.#startAll()
      phases.formedS = this.#now() / 1000
      const trafficFrom = this.#now()
      await this.#traffic()
      const trafficTo = this.#now()
      await this.#drain()
      await this.#sampleAll()
      phases = { ...phases, trafficFromS: trafficFrom / 1000, trafficToS: trafficTo / 1000, trendFromS: (trafficFrom + (trafficTo - trafficFrom) / 2) / 1000, trendToS: this.#now() / 1000 }
    } catch (err) {
      this.#errors.push((err as Error).message)
    } finally {
      this.#running = false
      this.#trafficOver()
      for (const timer of this.#timers) clearTimeout(timer)
      await this.#churning?.catch(() => {})
      await this.#shutdown()
      this.#ledger.judge(this.#now(), this.#timeline, true)
      phases.endS = this.#now() / 1000
    }
    const report = this.#report(startedAt, phases)
    // A failed run keeps its data dirs and the nodes' logs (<name>.<incarnation>.log) for a post-mortem.
    if (report.ok && !o.keep) await fs.rm(this.#dir, { recursive: true, force: true }).catch(() => {})
    else report.dataDir = this.#dir
    return report
  }

  // --- nodes --------------------------------------------------------------------

  async #startAll(): Promise<void> {
    const o = this.#options
    for (let i = 0; i < o.nodes; i++) {
      // Odd-numbered nodes churn; node 0 (the bootstrap) and the even ones stay up throughout.
      this.#nodes.push({ index: i, name: `soak-${i}`, dataDir: path.join(this.#dir, `soak-${i}`), churnable: o.churn && i % 2 === 1, port: 0, nodeId: null, proc: null, inc: null, busy: false, peers: new Set() })
    }
    const [first, ...rest] = this.#nodes as [SoakNode, ...SoakNode[]]
    // The first node creates the development CA; the others find it in place.
    await this.#start(first)
    this.#progress(`bootstrap node up at 127.0.0.1:${first.port}`)
    for (let i = 0; i < rest.length; i += START_CONCURRENCY) await Promise.all(rest.slice(i, i + START_CONCURRENCY).map((node) => this.#start(node)))
    const want = Math.min(FORMATION_PEERS, o.nodes - 1)
    const formed = (): boolean => this.#nodes.every((n) => n.peers.size >= want)
    if (!formed()) {
      const deadline = 30_000 + o.nodes * 1_000
      await this.#waitLine(() => formed(), deadline, `every node to hold ${want} sessions`)
    }
    this.#progress(`network formed: ${this.#nodes.map((n) => n.peers.size).join(' ')} sessions per node (${Math.round(this.#now())} ms after the start)`)
  }

  #args(node: SoakNode): string[] {
    const args = ['--host', '127.0.0.1', '--port', String(node.port), '--name', node.name, '--data-dir', node.dataDir]
    const boot = this.#nodes[0] as SoakNode
    if (node !== boot) args.push('--bootstrap', `127.0.0.1:${boot.port}`)
    return args
  }

  async #start(node: SoakNode): Promise<void> {
    const incNumber = this.#timeline.incarnations(node.index).length
    const proc = NodeProcess.spawn(node.name, this.#args(node), this.#dir, path.join(this.#dir, `${node.name}.${incNumber}.log`))
    const inc = this.#timeline.start(node.index, this.#now(proc.spawnedAt))
    this.#procs.push(proc)
    node.proc = proc
    node.inc = inc
    node.peers = new Set()
    proc.on('line', (line, at) => this.#onLine(node, inc, line, at))
    proc.on('exit', (info) => this.#onExit(node, inc, proc, info))
    const ready = await proc.waitReady(READY_TIMEOUT_MS)
    node.port = ready.port
    node.nodeId = ready.nodeId
    this.#byId.set(ready.nodeId, node.index)
  }

  #onLine(node: SoakNode, inc: Incarnation, line: NodeLine, at: number): void {
    const t = this.#now(at)
    switch (line.type) {
      case 'ready':
        this.#byId.set(String(line.nodeId), node.index)
        this.#timeline.ready(node.index, t)
        break
      case 'peer:up': {
        const peer = this.#peerIndex(line)
        node.peers.add(peer)
        const via = (line.peer as { via?: string | null } | undefined)?.via
        if (via) this.#relayOf.set(`${node.index}/${peer}`, this.#byId.get(via) ?? -1)
        else this.#relayOf.delete(`${node.index}/${peer}`)
        this.#timeline.peerUp(node.index, peer, t)
        break
      }
      case 'peer:down': {
        const peer = this.#peerIndex(line)
        node.peers.delete(peer)
        const reason = String(line.reason)
        this.#noticed(node.index, peer, t, reason)
        const relay = this.#relayOf.get(`${node.index}/${peer}`) ?? null
        this.#relayOf.delete(`${node.index}/${peer}`)
        const falseDown = this.#timeline.peerDown(node.index, peer, t, reason, String(line.message ?? ''), relay !== null && relay >= 0 ? relay : null)
        if (falseDown) this.#progress(`FALSE DOWN at ${(t / 1000).toFixed(1)} s: node ${node.index} declared node ${peer} down (${reason}: ${String(line.message ?? '')})`)
        break
      }
      case 'message': {
        const match = /^soak ([db]) (\S+)$/.exec(String(line.text))
        if (!match) break
        const from = this.#byId.get(String(line.from)) ?? -1
        const receiver = { node: node.index, key: inc.key }
        if (match[1] === 'd') this.#ledger.receivedDirect(match[2] as string, t, receiver, from)
        else this.#ledger.receivedBroadcast(match[2] as string, t, receiver, from)
        break
      }
      case 'warning':
        this.#count(this.#warnings, `${String(line.code ?? line.kind ?? 'warning')}: ${String(line.text ?? '').replace(/[0-9a-z]{20,}/g, '…').slice(0, 100)}`)
        break
      case 'not-json':
        this.#count(this.#warnings, `stdout line that is not JSON: ${String(line.raw).slice(0, 80)}`)
        break
    }
    for (const waiter of this.#lineWaiters) if (waiter.test(node.index, line)) waiter.resolve()
  }

  #peerIndex(line: NodeLine): number {
    const id = (line.peer as { id?: string } | undefined)?.id
    return id === undefined ? -1 : (this.#byId.get(id) ?? -1)
  }

  #onExit(node: SoakNode, inc: Incarnation, proc: NodeProcess, info: ExitInfo): void {
    if (node.proc === proc) node.proc = null
    node.peers.clear()
    const crashed = this.#timeline.exited(node.index, this.#now(info.at), info.code, info.signal)
    if (crashed) {
      const message = `node ${node.index} (process ${inc.key}) exited on its own (${info.signal ?? `status ${info.code}`}) at ${(this.#now(info.at) / 1000).toFixed(1)} s; stderr tail:\n${proc.stderrTail(1_500)}`
      this.#crashes.push(message)
      this.#progress(`CRASH: ${message}`)
    }
  }

  /** Resolves once `test` holds, checked after every line any node prints; rejects after `ms`. */
  #waitLine(test: (node: number, line: NodeLine | null) => boolean, ms: number, what: string): Promise<void> {
    if (test(-1, null)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer)
          this.#lineWaiters.delete(waiter)
          resolve()
        },
      }
      const timer = setTimeout(() => {
        this.#lineWaiters.delete(waiter)
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
      }, ms)
      this.#lineWaiters.add(waiter)
    })
  }

  // --- traffic ------------------------------------------------------------------

  /** Nodes that can send and receive now: running, not being churned, with a peer. */
  #available(): SoakNode[] {
    return this.#nodes.filter((n) => n.proc?.alive && n.proc.ready && !n.busy && n.peers.size > 0)
  }

  #pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.#random() * items.length)]
  }

  /** Runs `fn` every `everyMs` (pacing, with +-20 % jitter) until the traffic phase ends. */
  #every(everyMs: number, fn: () => void): void {
    const tick = (): void => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        if (!this.#running) return
        fn()
        tick()
      }, everyMs * (0.8 + 0.4 * this.#random()))
      this.#timers.add(timer)
    }
    tick()
  }

  async #traffic(): Promise<void> {
    const o = this.#options
    this.#running = true
    const end = this.#now() + o.durationMs
    this.#every(1_000 / o.directPerS, () => this.#sendDirect())
    this.#every(o.broadcastEveryMs, () => this.#sendBroadcast())
    this.#every(o.sampleEveryMs, () => void this.#sampleAll())
    this.#every(1_000, () => this.#ledger.judge(this.#now(), this.#timeline))
    const progressEvery = Math.max(10_000, o.durationMs / 12)
    this.#every(progressEvery, () => this.#progress(this.#status(end)))
    if (o.churn) this.#churning = this.#churnLoop()
    void this.#sampleAll()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, o.durationMs)
      this.#timers.add(timer)
      this.#interrupt = resolve
      if (this.#interrupted) resolve()
    })
    this.#running = false
    this.#trafficOver()
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    await this.#churning
  }

  #status(end: number): string {
    const d = this.#ledger.direct
    const b = this.#ledger.broadcast
    const latest = new Map<number, ResourceRow>()
    for (const row of this.#rows.slice(-this.#nodes.length * 2)) latest.set(row.node, row)
    const rss = [...latest.values()].map((r) => r.rssMiB)
    const left = Math.max(0, Math.round((end - this.#now()) / 1000))
    return (
      `${Math.round(this.#now() / 1000)} s (${left} s left): direct ${d.sent} sent, ${d.lost} lost, ${d.failed} failed (${d.failedHard} with nothing churned); ` +
      `broadcasts ${b.sent}, ${b.missed} missed, ${this.#ledger.lateReceipts} late receipts; false downs ${this.#timeline.falseDowns.length}; ` +
      `churned ${this.#churnEvents.length}; RSS ${rss.length ? `${Math.min(...rss).toFixed(0)}-${Math.max(...rss).toFixed(0)} MiB` : '-'}`
    )
  }

  #sendDirect(): void {
    const available = this.#available()
    const from = this.#pick(available)
    const to = this.#pick(available.filter((n) => n !== from))
    if (!from?.proc || !to?.nodeId) return
    const id = `d${++this.#seq}`
    this.#ledger.sendDirect(id, from.index, to.index, this.#now())
    const sent = from.proc.command(`send ${to.nodeId} soak d ${id}`, DELIVERY_TIMEOUT_MS * 3)
    this.#track(sent)
    sent
      .then((result) => this.#ledger.acknowledged(id, this.#now(), Number(result.rttMs)))
      .catch((err: Error) => {
        if (err instanceof CommandError) this.#ledger.failed(id, this.#now(), err.code)
        else if (!from.proc || from.proc.exitInfo) this.#ledger.failed(id, this.#now(), 'SOAK_SENDER_EXITED')
        // Otherwise no answer at all: the ledger judges it unresolved.
      })
  }

  #sendBroadcast(): void {
    const origin = this.#pick(this.#available())
    if (!origin?.proc) return
    const id = `b${++this.#seq}`
    this.#ledger.sendBroadcast(id, origin.index, this.#now())
    const sent = origin.proc.command(`broadcast soak b ${id}`, DELIVERY_TIMEOUT_MS * 3)
    this.#track(sent)
    sent
      .then((result) => this.#ledger.broadcastSent(id, Number(result.sentTo), this.#now()))
      .catch((err: Error) => {
        // Refused: nothing was sent. No answer at all (a timeout, the origin exited): judged at the deadline.
        if (!(err instanceof CommandError)) return
        this.#ledger.broadcastSent(id, 0, this.#now())
        this.#errors.push(`broadcast ${id} refused by node ${origin.index}: ${err.message}`)
      })
  }

  /**
   * After the traffic: waits for the answer to every command in flight, then
   * judges each message at the moment its settle time is up.
   */
  async #drain(): Promise<void> {
    await Promise.allSettled([...this.#inflight])
    for (let due = this.#ledger.nextDue(); due !== null; due = this.#ledger.nextDue()) {
      await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - this.#now()) + 10)) // until that record's settle time is up
      this.#ledger.judge(this.#now(), this.#timeline)
    }
  }

  /** Keeps track of a command in flight, so the drain can wait for its answer. */
  #track(promise: Promise<unknown>): void {
    const settled = promise.then(
      () => {},
      () => {},
    )
    this.#inflight.add(settled)
    void settled.then(() => this.#inflight.delete(settled))
  }

  // --- churn --------------------------------------------------------------------

  async #churnLoop(): Promise<void> {
    while (this.#running) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.churnEveryMs * (0.8 + 0.4 * this.#random())))), this.#trafficOverPromise])
      clearTimeout(timer)
      if (!this.#running) return
      const node = this.#pick(this.#nodes.filter((n) => n.churnable && n.proc?.alive && !n.busy))
      if (node) await this.#churn(node)
    }
  }

  async #churn(node: SoakNode): Promise<void> {
    const proc = node.proc
    if (!proc) return
    const how: StopHow = this.#random() < 0.5 ? 'kill' : 'leave'
    node.busy = true
    const at = this.#now()
    const event: ChurnEvent = { node: node.index, how, at, downMs: 0, readyMs: null, rejoinMs: null, noticedMs: [], noticedOther: [], noticedBy: new Set(), exit: null }
    this.#churnEvents.push(event)
    this.#timeline.stopping(node.index, at, how)
    try {
      if (how === 'kill') proc.kill('SIGKILL')
      else proc.write('exit')
      let exit: ExitInfo
      try {
        exit = await proc.waitExit(EXIT_TIMEOUT_MS)
      } catch (err) {
        this.#exitFailures.push(`node ${node.index} did not exit within ${EXIT_TIMEOUT_MS} ms of "exit": ${(err as Error).message.split('\n')[0]}`)
        proc.kill('SIGKILL')
        exit = await proc.waitExit(EXIT_TIMEOUT_MS)
      }
      event.exit = { code: exit.code, signal: exit.signal }
      if (how === 'leave' && exit.code !== 0) this.#exitFailures.push(`node ${node.index} exited with ${exit.signal ?? exit.code} after "exit" (expected status 0)`)
      // Down for 1-5 s: sometimes back before its peers time the old process out, sometimes after.
      event.downMs = Math.round(1_000 + 4_000 * this.#random())
      await new Promise<void>((resolve) => setTimeout(resolve, event.downMs)) // pacing: how long it stays down
      const restartAt = this.#now()
      await this.#start(node)
      event.readyMs = Math.round(this.#now() - restartAt)
      const inc = node.inc as Incarnation
      try {
        await this.#waitLine(() => inc.firstPeerAt !== null, REJOIN_TIMEOUT_MS, `node ${node.index} to get a peer after its restart`)
        event.rejoinMs = Math.round((inc.firstPeerAt as number) - restartAt)
      } catch (err) {
        this.#rejoinFailures.push(`node ${node.index} (${how}, down ${event.downMs} ms): ${(err as Error).message}`)
      }
    } catch (err) {
      this.#errors.push(`churning node ${node.index}: ${(err as Error).message}`)
    } finally {
      node.busy = false
    }
  }

  /** Time from a churn to each neighbour's first peer:down about it (the old process). */
  #noticed(observer: number, peer: number, t: number, reason: string): void {
    if (peer < 0 || observer === peer) return
    const event = this.#churnEvents.findLast((e) => e.node === peer)
    if (!event || t < event.at || t - event.at > NOTICE_WINDOW_MS || event.noticedBy.has(observer)) return
    event.noticedBy.add(observer)
    const expected = event.how === 'kill' ? 'OVL_HEARTBEAT_TIMEOUT' : 'OVL_PEER_LEFT'
    if (reason === expected) event.noticedMs.push(Math.round(t - event.at))
    else event.noticedOther.push(reason)
  }

  // --- sampling -----------------------------------------------------------------

  async #sampleAll(): Promise<void> {
    await Promise.all(this.#nodes.map((node) => this.#sample(node)))
  }

  async #sample(node: SoakNode): Promise<void> {
    const proc = node.proc
    const inc = node.inc
    if (!proc?.alive || !proc.ready || !inc || node.busy) return
    try {
      const [probe, stats, fds] = await Promise.all([proc.sample(SAMPLE_TIMEOUT_MS), proc.command('stats', SAMPLE_TIMEOUT_MS), proc.fdCount()])
      const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100
      const handles = Object.entries(probe.resources)
        .filter(([name]) => name !== 'Timeout' && name !== 'Immediate' && !/Req|^WriteWrap$|^ShutdownWrap$/.test(name))
        .reduce((sum, [, count]) => sum + count, 0)
      this.#rows.push({
        t: Math.round(this.#now()) / 1000,
        node: node.index,
        inc: inc.key,
        rssMiB: mib(probe.rss),
        heapMiB: mib(probe.heapUsed),
        externalMiB: mib(probe.external),
        handles,
        timers: probe.timers,
        fds: fds ?? Number.NaN,
        streams: Number(stats.streams),
        sessions: Number(stats.sessions),
        pendingDeliveries: Number(stats.pendingDeliveries),
        heartbeatsMissed: Number(stats.heartbeatsMissed),
        peersDeclaredDown: Number(stats.peersDeclaredDown),
      })
    } catch {
      // The process went away meanwhile (churn) or is too busy to answer: the next sample will tell.
    }
  }

  // --- the end ------------------------------------------------------------------

  async #shutdown(): Promise<void> {
    const live = this.#nodes.filter((n) => n.proc?.alive)
    await Promise.all(
      live.map(async (node) => {
        const proc = node.proc as NodeProcess
        node.busy = true
        this.#timeline.stopping(node.index, this.#now(), 'shutdown')
        const asked = performance.now()
        proc.write('exit')
        try {
          const exit = await proc.waitExit(EXIT_TIMEOUT_MS)
          this.#exits.push({ node: node.index, code: exit.code, signal: exit.signal, ms: Math.round(exit.at - asked) })
          if (exit.code !== 0) this.#exitFailures.push(`node ${node.index} exited with ${exit.signal ?? exit.code} after "exit" (expected status 0); stderr tail:\n${proc.stderrTail(1_000)}`)
        } catch (err) {
          this.#exits.push({ node: node.index, code: null, signal: null, ms: null })
          this.#exitFailures.push(`node ${node.index}: ${(err as Error).message}`)
          proc.kill('SIGKILL')
          await proc.waitExit(EXIT_TIMEOUT_MS).catch(() => {})
        }
      }),
    )
  }

  #count(map: Map<string, number>, key: string): void {
    if (!map.has(key) && map.size >= 100) return
    map.set(key, (map.get(key) ?? 0) + 1)
  }

  #report(startedAt: Date, phases: SoakReport['phases']): SoakReport {
    const o = this.#options
    const lifetimes = new Map(this.#timeline.incarnations().map((inc) => [inc.key, { start: inc.startedAt / 1000, end: inc.stoppingAt === null ? null : inc.stoppingAt / 1000 }]))
    const window = { from: phases.trendFromS, to: phases.trendToS }
    const trends = phases.trendToS > 0 ? resourceTrends(this.#rows, window, lifetimes) : []
    if (phases.trendToS > 0 && !trends.some((t) => t.metric === 'heapMiB')) this.#errors.push('no process lived through the whole second half: nothing to judge resource trends on')

    // Counters are per process: the last sample of each process holds its totals.
    const lastByInc = new Map<string, ResourceRow>()
    const firstByInc = new Map<string, ResourceRow>()
    for (const row of this.#rows) {
      lastByInc.set(row.inc, row)
      if (!firstByInc.has(row.inc)) firstByInc.set(row.inc, row)
    }
    const missed = [...lastByInc.values()].reduce((s, r) => s + r.heartbeatsMissed, 0)
    const declaredDown = [...lastByInc.values()].reduce((s, r) => s + r.peersDeclaredDown, 0)

    const logs = new Map<string, number>()
    for (const proc of this.#procs) for (const [key, count] of proc.logCounts) logs.set(key, (logs.get(key) ?? 0) + count)
    const failures = verdict({
      direct: this.#ledger.direct,
      broadcast: this.#ledger.broadcast,
      lateReceipts: this.#ledger.lateReceipts,
      falseDowns: this.#timeline.falseDowns,
      trends,
      crashes: this.#crashes,
      rejoinFailures: this.#rejoinFailures,
      exitFailures: this.#exitFailures,
      errors: this.#errors,
    })
    const kills = this.#churnEvents.filter((e) => e.how === 'kill').flatMap((e) => e.noticedMs)
    const leaves = this.#churnEvents.filter((e) => e.how === 'leave').flatMap((e) => e.noticedMs)
    return {
      soak: 'p2p-overlay',
      ok: failures.length === 0,
      dataDir: null,
      failures,
      startedAt: startedAt.toISOString(),
      command: ['npm run soak --', ...process.argv.slice(2)].join(' '),
      options: o,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
      phases,
      nodes: this.#nodes.map((n) => ({
        index: n.index,
        name: n.name,
        nodeId: n.nodeId,
        churnable: n.churnable,
        incarnations: this.#timeline.incarnations(n.index).map((inc) => ({
          key: inc.key,
          startedS: inc.startedAt / 1000,
          readyS: inc.readyAt === null ? null : inc.readyAt / 1000,
          endedS: inc.endedAt === null ? null : inc.endedAt / 1000,
          stopHow: inc.stopHow,
          exit: inc.exit,
        })),
      })),
      direct: { ...this.#ledger.direct, ackRttMs: percentiles(this.#ledger.ackRttMs) },
      broadcast: { ...this.#ledger.broadcast, propagationMs: percentiles(this.#ledger.propagationMs) },
      lateReceipts: this.#ledger.lateReceipts,
      problems: this.#ledger.problems,
      heartbeats: { missed, declaredDown, falseDowns: this.#timeline.falseDowns, expectedDowns: Object.fromEntries(this.#timeline.expectedDowns) },
      churn: { events: this.#churnEvents.map((e) => ({ ...e, noticedBy: [...e.noticedBy] })), rejoinMs: percentiles(this.#churnEvents.flatMap((e) => (e.rejoinMs === null ? [] : [e.rejoinMs]))), killNoticedMs: percentiles(kills), leaveNoticedMs: percentiles(leaves) },
      resources: { window: { fromS: window.from, toS: window.to }, trends, first: Object.fromEntries(firstByInc), last: Object.fromEntries(lastByInc), samples: this.#rows },
      warnings: Object.fromEntries(this.#warnings),
      logs: Object.fromEntries([...logs].sort((a, b) => b[1] - a[1])),
      crashes: this.#crashes,
      exits: this.#exits,
    }
  }
}
