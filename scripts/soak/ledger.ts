/**
 * The soak's message accounting: every direct message and broadcast it sent,
 * what the sender was told (acknowledged, or failed with a code) and who
 * printed it as received, judged once the dust has settled.
 *
 * Direct message, between two nodes that were both stable (one process, not
 * being churned) from send to judgement:
 *   - acknowledged but never received: LOST
 *   - received twice by one process: DUPLICATE
 *   - failed (an error line), or received but the sender was told it failed
 *     (the acknowledgement got lost): a failure, unless some node was being
 *     churned meanwhile (a relay may have gone away: the sender was told, so
 *     nothing was lost silently; counted, not fatal)
 *   - no answer at all before the deadline: UNRESOLVED
 * Broadcast: every process that had a peer from the moment it was sent until
 * it is judged must print it exactly once; the origin never.
 *
 * The ledger knows nothing about processes: a `LedgerWorld` (timeline.ts)
 * says who was stable and connected when.
 */

export interface LedgerWorld {
  stableDuring(node: number, from: number, to: number): boolean
  anyChurn(from: number, to: number): boolean
  eligibleReceivers(from: number, to: number, except: number): Array<{ key: string }>
}

export interface LedgerOptions {
  /** After the sender's answer, how long a receipt may still take to show up (ms). */
  settleMs: number
  /** A send with no answer by then is unresolved (ms after sending). */
  directDeadlineMs: number
  /** A broadcast is judged this long after its origin said it sent it (ms). */
  broadcastSettleMs: number
  /** A broadcast whose origin never answered is judged this long after it was asked (ms). */
  broadcastDeadlineMs: number
}

export type ProblemKind =
  | 'direct-lost'
  | 'direct-duplicate'
  | 'direct-failed'
  | 'direct-ack-lost'
  | 'direct-unresolved'
  | 'direct-wrong-sender'
  | 'broadcast-missed'
  | 'broadcast-duplicate'
  | 'broadcast-to-origin'
  | 'broadcast-wrong-origin'
  | 'late-receipt'

export interface Problem {
  kind: ProblemKind
  id: string
  at: number
  detail: string
}

export interface DirectTotals {
  sent: number
  acknowledged: number
  failed: number
  /** Judged between endpoints that stayed stable. */
  judged: number
  /** An endpoint was churned before judgement: not judged for loss. */
  excluded: number
  lost: number
  duplicates: number
  /** Failures (or lost acknowledgements) while no node was being churned. */
  failedHard: number
  /** Failures (or lost acknowledgements) while some node was being churned: the sender was told. */
  failedDuringChurn: number
  ackLost: number
  unresolved: number
  wrongSender: number
}

export interface BroadcastTotals {
  sent: number
  /** The origin had no session when it sent (nothing to judge). */
  noPeers: number
  /** Receptions owed: eligible receivers summed over broadcasts. */
  expected: number
  delivered: number
  missed: number
  duplicates: number
  /** Receptions by processes not required to get it (rejoining, or stopped before judgement). */
  extra: number
  toOrigin: number
  wrongOrigin: number
}

interface DirectRecord {
  id: string
  from: number
  to: number
  sentAt: number
  resolvedAt: number | null
  acked: boolean
  error: string | null
  receipts: Map<string, number>
}

interface BroadcastRecord {
  id: string
  origin: number
  /** When the origin was asked: propagation is measured from here (the runner reads the nodes' lines in no set order). */
  askedAt: number
  /**
   * When the origin was asked, then when it answered that it had sent: a
   * node runs its commands in turn, so a broadcast asked of a node whose
   * `send` waits for an acknowledgement goes out only after it. Judgement
   * counts from here.
   */
  sentAt: number
  answered: boolean
  sentTo: number | null
  receipts: Map<string, { count: number; firstAt: number }>
}

/** Problems kept with details (all are counted). */
const MAX_PROBLEMS_KEPT = 200

export class Ledger {
  readonly #options: LedgerOptions
  readonly #direct = new Map<string, DirectRecord>()
  readonly #broadcasts = new Map<string, BroadcastRecord>()
  /** Ids already judged: a receipt for one of them comes too late. */
  readonly #judged = new Set<string>()
  readonly direct: DirectTotals = { sent: 0, acknowledged: 0, failed: 0, judged: 0, excluded: 0, lost: 0, duplicates: 0, failedHard: 0, failedDuringChurn: 0, ackLost: 0, unresolved: 0, wrongSender: 0 }
  readonly broadcast: BroadcastTotals = { sent: 0, noPeers: 0, expected: 0, delivered: 0, missed: 0, duplicates: 0, extra: 0, toOrigin: 0, wrongOrigin: 0 }
  readonly problems: Problem[] = []
  /** Round trips the senders measured for acknowledged messages (ms). */
  readonly ackRttMs: number[] = []
  /** Send to the last eligible receiver's line, per fully delivered broadcast (ms, the soak's clock). */
  readonly propagationMs: number[] = []
  lateReceipts = 0

  constructor(options: LedgerOptions) {
    this.#options = options
  }

  get pending(): number {
    return this.#direct.size + this.#broadcasts.size
  }

  /** When the next record falls due for judgement (soak clock, ms), or null when none is pending. */
  nextDue(): number | null {
    let due = Infinity
    for (const r of this.#direct.values()) due = Math.min(due, r.resolvedAt !== null ? r.resolvedAt + this.#options.settleMs : r.sentAt + this.#options.directDeadlineMs)
    for (const r of this.#broadcasts.values()) due = Math.min(due, this.#broadcastDue(r))
    return due === Infinity ? null : due
  }

  // --- direct -------------------------------------------------------------------

  sendDirect(id: string, from: number, to: number, at: number): void {
    this.direct.sent++
    this.#direct.set(id, { id, from, to, sentAt: at, resolvedAt: null, acked: false, error: null, receipts: new Map() })
  }

  acknowledged(id: string, at: number, rttMs: number): void {
    const record = this.#direct.get(id)
    if (!record || record.resolvedAt !== null) return
    record.resolvedAt = at
    record.acked = true
    this.direct.acknowledged++
    if (Number.isFinite(rttMs)) this.ackRttMs.push(rttMs)
  }

  failed(id: string, at: number, code: string): void {
    const record = this.#direct.get(id)
    if (!record || record.resolvedAt !== null) return
    record.resolvedAt = at
    record.error = code
    this.direct.failed++
  }

  receivedDirect(id: string, at: number, receiver: { node: number; key: string }, from: number): void {
    const record = this.#direct.get(id)
    if (!record) return this.#late(id, at, `direct message ${id} printed by node ${receiver.node} after it was judged`)
    if (from !== record.from) {
      this.direct.wrongSender++
      this.#problem('direct-wrong-sender', id, at, `node ${receiver.node} printed ${id} as from node ${from}, it was sent by node ${record.from}`)
    }
    record.receipts.set(receiver.key, (record.receipts.get(receiver.key) ?? 0) + 1)
  }

  // --- broadcast ----------------------------------------------------------------

  sendBroadcast(id: string, origin: number, at: number): void {
    this.broadcast.sent++
    this.#broadcasts.set(id, { id, origin, askedAt: at, sentAt: at, answered: false, sentTo: null, receipts: new Map() })
  }

  /** The origin's answer at `at`: how many peers it sent to. */
  broadcastSent(id: string, sentTo: number, at: number): void {
    const record = this.#broadcasts.get(id)
    if (!record) return
    record.sentTo = sentTo
    record.sentAt = at
    record.answered = true
  }

  #broadcastDue(record: BroadcastRecord): number {
    return record.sentAt + (record.answered ? this.#options.broadcastSettleMs : this.#options.broadcastDeadlineMs)
  }

  receivedBroadcast(id: string, at: number, receiver: { node: number; key: string }, from: number): void {
    const record = this.#broadcasts.get(id)
    if (!record) return this.#late(id, at, `broadcast ${id} printed by node ${receiver.node} after it was judged`)
    if (from !== record.origin) {
      this.broadcast.wrongOrigin++
      this.#problem('broadcast-wrong-origin', id, at, `node ${receiver.node} printed ${id} as from node ${from}, its origin is node ${record.origin}`)
    }
    if (receiver.node === record.origin) {
      this.broadcast.toOrigin++
      this.#problem('broadcast-to-origin', id, at, `node ${receiver.node} printed its own broadcast ${id}`)
      return
    }
    const seen = record.receipts.get(receiver.key)
    if (seen) seen.count++
    else record.receipts.set(receiver.key, { count: 1, firstAt: at })
  }

  // --- judgement ----------------------------------------------------------------

  /** Judges everything whose time has come (everything, if `final`). */
  judge(now: number, world: LedgerWorld, final = false): void {
    for (const record of this.#direct.values()) {
      const due = final || (record.resolvedAt !== null ? now >= record.resolvedAt + this.#options.settleMs : now >= record.sentAt + this.#options.directDeadlineMs)
      if (!due) continue
      this.#direct.delete(record.id)
      this.#judged.add(record.id)
      this.#judgeDirect(record, now, world)
    }
    for (const record of this.#broadcasts.values()) {
      if (!final && now < this.#broadcastDue(record)) continue
      this.#broadcasts.delete(record.id)
      this.#judged.add(record.id)
      this.#judgeBroadcast(record, Math.min(now, this.#broadcastDue(record)), world)
    }
  }

  #judgeDirect(record: DirectRecord, now: number, world: LedgerWorld): void {
    const end = record.resolvedAt ?? now
    const received = [...record.receipts.values()].reduce((a, b) => a + b, 0)
    for (const [key, count] of record.receipts) {
      if (count > 1) {
        this.direct.duplicates += count - 1
        this.#problem('direct-duplicate', record.id, end, `${record.id} from node ${record.from} printed ${count} times by process ${key}`)
      }
    }
    const stable = world.stableDuring(record.from, record.sentAt, end) && world.stableDuring(record.to, record.sentAt, end)
    if (!stable) {
      this.direct.excluded++
      return
    }
    this.direct.judged++
    const route = `${record.id} node ${record.from} -> node ${record.to}`
    if (record.resolvedAt === null) {
      this.direct.unresolved++
      this.#problem('direct-unresolved', record.id, now, `${route}: no answer to the send within ${this.#options.directDeadlineMs} ms`)
      return
    }
    if (record.acked) {
      if (received === 0) {
        this.direct.lost++
        this.#problem('direct-lost', record.id, end, `${route}: acknowledged, never printed by the receiver`)
      }
      return
    }
    // Failed: the sender was told. Fatal only if nothing was being churned.
    const churn = world.anyChurn(record.sentAt - 1, end)
    if (received > 0) this.direct.ackLost++
    if (churn) {
      this.direct.failedDuringChurn++
      return
    }
    this.direct.failedHard++
    if (received > 0) this.#problem('direct-ack-lost', record.id, end, `${route}: received, but the sender was told it failed (${record.error})`)
    else this.#problem('direct-failed', record.id, end, `${route}: failed with ${record.error}, nothing churned`)
  }

  #judgeBroadcast(record: BroadcastRecord, until: number, world: LedgerWorld): void {
    for (const [key, seen] of record.receipts) {
      if (seen.count > 1) {
        this.broadcast.duplicates += seen.count - 1
        this.#problem('broadcast-duplicate', record.id, seen.firstAt, `${record.id} from node ${record.origin} printed ${seen.count} times by process ${key}`)
      }
    }
    if (record.sentTo === 0) {
      this.broadcast.noPeers++
      return
    }
    if (!world.stableDuring(record.origin, record.sentAt, record.sentAt)) {
      // The origin was being churned as it sent: whatever arrived, arrived.
      this.broadcast.extra += record.receipts.size
      return
    }
    const eligible = world.eligibleReceivers(record.sentAt, until, record.origin)
    const owed = new Set(eligible.map((inc) => inc.key))
    this.broadcast.expected += owed.size
    let last = 0
    const missing: string[] = []
    for (const key of owed) {
      const seen = record.receipts.get(key)
      if (!seen) {
        missing.push(key)
        continue
      }
      this.broadcast.delivered++
      last = Math.max(last, seen.firstAt - record.askedAt)
    }
    for (const key of record.receipts.keys()) if (!owed.has(key)) this.broadcast.extra++
    if (missing.length > 0) {
      this.broadcast.missed += missing.length
      this.#problem('broadcast-missed', record.id, until, `${record.id} from node ${record.origin} never printed by process${missing.length > 1 ? 'es' : ''} ${missing.join(', ')} within ${this.#options.broadcastSettleMs} ms`)
    } else if (owed.size > 0) {
      this.propagationMs.push(last)
    }
  }

  #late(id: string, at: number, detail: string): void {
    if (!this.#judged.has(id)) return
    this.lateReceipts++
    this.#problem('late-receipt', id, at, detail)
  }

  #problem(kind: ProblemKind, id: string, at: number, detail: string): void {
    if (this.problems.length < MAX_PROBLEMS_KEPT) this.problems.push({ kind, id, at, detail })
  }
}
