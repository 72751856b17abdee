/**
 * What happened to each node during a soak, on the soak's clock (ms): its
 * incarnations (a process from start to exit), when it had peers, and its
 * churn windows. The message ledger asks it who should have received what,
 * and every `peer:down` a node prints is judged against it.
 *
 * A churn window opens when the soak decides to stop a node (kill, leave, the
 * final shutdown) or when it exits unexpectedly, and closes `graceMs` after
 * its next incarnation is ready: peers may still hold (and then time out) a
 * session of the old process that long.
 */

export type StopHow = 'kill' | 'leave' | 'shutdown'

export interface Incarnation {
  node: number
  /** 0 for the first process of a node, then 1, 2, ... per restart. */
  inc: number
  key: string
  startedAt: number
  readyAt: number | null
  /** When the soak began to stop it (or saw it exit on its own). */
  stoppingAt: number | null
  stopHow: StopHow | 'crash' | null
  endedAt: number | null
  exit: { code: number | null; signal: string | null } | null
  /** Closed intervals [from, to] with at least one peer; `connectedSince` is the open one. */
  connected: Array<[number, number]>
  connectedSince: number | null
  firstPeerAt: number | null
  peers: Set<number>
}

export interface DownEvent {
  at: number
  observer: number
  observerInc: number
  peer: number
  reason: string
  message: string
}

export interface FalseDown extends DownEvent {
  /** The observer itself had restarted less than graceMs before. */
  observerRejoining: boolean
  /** The same peer was up again at the observer this long after (ms); null if not (yet). */
  backAfterMs: number | null
}

interface ChurnWindow {
  start: number
  /** Null while open. */
  end: number | null
  how: StopHow | 'crash'
}

/** A session through a churned relay goes down within this of the churn (the heartbeat timeout, 3 s, and some). */
const RELAY_DOWN_GRACE_MS = 5_000

export class Timeline {
  readonly graceMs: number
  readonly #incarnations = new Map<number, Incarnation[]>()
  readonly #windows = new Map<number, ChurnWindow[]>()
  readonly falseDowns: FalseDown[] = []
  /** Downs of peers that were being churned (expected), counted by reason. */
  readonly expectedDowns = new Map<string, number>()
  /** Downs reported by a node that was itself stopping (its own sessions closing). */
  ignoredDowns = 0

  constructor(options: { graceMs: number }) {
    this.graceMs = options.graceMs
  }

  start(node: number, at: number): Incarnation {
    const list = this.#incarnations.get(node) ?? []
    const inc: Incarnation = {
      node,
      inc: list.length,
      key: `${node}.${list.length}`,
      startedAt: at,
      readyAt: null,
      stoppingAt: null,
      stopHow: null,
      endedAt: null,
      exit: null,
      connected: [],
      connectedSince: null,
      firstPeerAt: null,
      peers: new Set(),
    }
    list.push(inc)
    this.#incarnations.set(node, list)
    return inc
  }

  ready(node: number, at: number): void {
    const inc = this.#live(node)
    if (!inc) return
    inc.readyAt = at
    const open = this.#openWindow(node)
    if (open && open.how !== 'shutdown') open.end = at + this.graceMs
  }

  current(node: number): Incarnation | undefined {
    return this.#incarnations.get(node)?.at(-1)
  }

  incarnations(node?: number): Incarnation[] {
    if (node !== undefined) return [...(this.#incarnations.get(node) ?? [])]
    return [...this.#incarnations.values()].flat()
  }

  get nodes(): number[] {
    return [...this.#incarnations.keys()]
  }

  peerUp(node: number, peer: number, at: number): void {
    const inc = this.#live(node)
    if (!inc || inc.stoppingAt !== null) return
    if (inc.peers.size === 0) inc.connectedSince = at
    inc.firstPeerAt ??= at
    inc.peers.add(peer)
    const down = this.falseDowns.findLast((f) => f.observer === node && f.observerInc === inc.inc && f.peer === peer)
    if (down && down.backAfterMs === null) down.backAfterMs = at - down.at
  }

  /**
   * Records a peer:down seen at `observer`; returns it if it was a false one.
   * `relay` is the node the session ran through when it came up relayed: a
   * session through a relay that is being churned ends with it, as it must:
   * at once when the relay exits, within the heartbeat timeout when it is
   * killed. Only a down that soon after the relay's churn began is excused
   * (the CLI prints no line when a relayed session becomes direct, so the
   * session may no longer run through it).
   */
  peerDown(observer: number, peer: number, at: number, reason: string, message = '', relay: number | null = null): FalseDown | null {
    const inc = this.#live(observer)
    if (!inc) return null
    if (inc.peers.delete(peer) && inc.peers.size === 0 && inc.connectedSince !== null) {
      inc.connected.push([inc.connectedSince, at])
      inc.connectedSince = null
    }
    if (inc.stoppingAt !== null) {
      this.ignoredDowns++
      return null
    }
    if (peer < 0) return null
    if (this.inChurn(peer, at)) {
      this.expectedDowns.set(reason, (this.expectedDowns.get(reason) ?? 0) + 1)
      return null
    }
    if (relay !== null && this.churnStartedWithin(relay, at, RELAY_DOWN_GRACE_MS)) {
      const key = `${reason} (its relay churned)`
      this.expectedDowns.set(key, (this.expectedDowns.get(key) ?? 0) + 1)
      return null
    }
    const previous = this.#incarnations.get(observer)?.at(-2)
    const rejoinedAt = inc.inc > 0 ? inc.readyAt : null
    const down: FalseDown = {
      at,
      observer,
      observerInc: inc.inc,
      peer,
      reason,
      message,
      observerRejoining: previous !== undefined && rejoinedAt !== null && at - rejoinedAt < this.graceMs,
      backAfterMs: null,
    }
    this.falseDowns.push(down)
    return down
  }

  /** The soak begins to stop `node` (the churn window opens). */
  stopping(node: number, at: number, how: StopHow): void {
    const inc = this.#live(node)
    if (!inc || inc.stoppingAt !== null) return
    inc.stoppingAt = at
    inc.stopHow = how
    this.#openChurn(node, at, how)
  }

  /** The process exited; returns true if nobody asked it to (a crash). */
  exited(node: number, at: number, code: number | null, signal: string | null): boolean {
    const inc = this.current(node)
    if (!inc || inc.endedAt !== null) return false
    inc.endedAt = at
    inc.exit = { code, signal }
    if (inc.connectedSince !== null) inc.connected.push([inc.connectedSince, at])
    inc.connectedSince = null
    inc.peers.clear()
    if (inc.stoppingAt !== null) return false
    inc.stoppingAt = at
    inc.stopHow = 'crash'
    this.#openChurn(node, at, 'crash')
    return true
  }

  /** Did a churn of `node` begin in the `ms` before `at`? */
  churnStartedWithin(node: number, at: number, ms: number): boolean {
    return (this.#windows.get(node) ?? []).some((w) => w.start <= at && at - w.start <= ms)
  }

  /** Was `node` being churned (or rejoining) at `at`? */
  inChurn(node: number, at: number): boolean {
    return this.churnOverlaps(node, at, at)
  }

  churnOverlaps(node: number, from: number, to: number): boolean {
    return (this.#windows.get(node) ?? []).some((w) => w.start <= to && (w.end === null || w.end >= from))
  }

  anyChurn(from: number, to: number): boolean {
    return this.nodes.some((node) => this.churnOverlaps(node, from, to))
  }

  /** One incarnation of `node`, ready, not stopping, and no churn window, through [from, to]. */
  stableDuring(node: number, from: number, to: number): boolean {
    const inc = this.#at(node, from)
    if (!inc || inc.readyAt === null || inc.readyAt > from) return false
    if (inc.stoppingAt !== null && inc.stoppingAt <= to) return false
    return !this.churnOverlaps(node, from, to)
  }

  /** Had at least one peer through all of [from, to]. */
  connectedThrough(inc: Incarnation, from: number, to: number): boolean {
    if (inc.connectedSince !== null && inc.connectedSince <= from) return true
    return inc.connected.some(([a, b]) => a <= from && b >= to)
  }

  /**
   * Incarnations that must receive a broadcast sent at `from` and judged at
   * `to`: alive, not being stopped, and with at least one peer the whole time.
   */
  eligibleReceivers(from: number, to: number, except: number): Incarnation[] {
    const out: Incarnation[] = []
    for (const node of this.nodes) {
      if (node === except) continue
      const inc = this.#at(node, from)
      if (!inc || inc.readyAt === null || inc.readyAt > from) continue
      if (inc.stoppingAt !== null && inc.stoppingAt <= to) continue
      if (this.connectedThrough(inc, from, to)) out.push(inc)
    }
    return out
  }

  /** The incarnation of `node` alive at `at`. */
  #at(node: number, at: number): Incarnation | undefined {
    const list = this.#incarnations.get(node) ?? []
    for (let i = list.length - 1; i >= 0; i--) {
      const inc = list[i] as Incarnation
      if (inc.startedAt <= at && (inc.endedAt === null || inc.endedAt >= at)) return inc
    }
    return undefined
  }

  #live(node: number): Incarnation | undefined {
    const inc = this.current(node)
    return inc && inc.endedAt === null ? inc : undefined
  }

  #openWindow(node: number): ChurnWindow | undefined {
    const last = this.#windows.get(node)?.at(-1)
    return last && last.end === null ? last : undefined
  }

  #openChurn(node: number, at: number, how: StopHow | 'crash'): void {
    if (this.#openWindow(node)) return
    const list = this.#windows.get(node) ?? []
    list.push({ start: at, end: null, how })
    this.#windows.set(node, list)
  }
}
