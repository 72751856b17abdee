/**
 * Hole punching, coordinated through the overlay. The initiator sends a
 * PUNCH_OFFER (its candidates, NAT type, a nonce) to the target as a signed
 * SIGNAL; the target answers with a PUNCH_ANSWER and both probe each other's
 * candidates at once (punch-attempt.ts). The first path that answers carries
 * a session: dialed by the initiator, or by the side with a birthday pool
 * when one of them is behind a hard NAT (its path is on a pool socket).
 *
 *   open, easy, double or UPnP on both sides, or open on either: plain simultaneous probing
 *   hard facing easy: birthday (hard side: 256 sockets; easy side sprays)
 *   hard facing hard: refused at once (OVL_PUNCH_IMPOSSIBLE): use a relay
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import {
  BIRTHDAY_POOL_SIZE,
  BIRTHDAY_SPRAY_PER_SECOND,
  BIRTHDAY_SPRAY_PROBES,
  MAX_BIRTHDAY_POOLS,
  MAX_PUNCH_ATTEMPTS,
  PUNCH_INTERVAL_MS,
  PUNCH_LINGER_MS,
  PUNCH_TIMEOUT_MS,
} from '../constants.js'
import { DeliveryError, OverlayError, TimeoutError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import { NatType, parseAddress, type PeerRecord } from '../messaging/peer-record.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import { BirthdayPool } from './birthday.js'
import { PunchBoard, runPunch, type PathFound } from './punch-attempt.js'
import { encodeSignal, PunchFlags, SignalType, type PunchSignal } from './signals.js'

export interface PunchHost {
  readonly nodeId: NodeId
  /** The node's own socket. */
  readonly socket: UdpSocket
  readonly host: string
  /** This node's NAT type and candidate addresses, best first. */
  self(): { nat: NatType; candidates: string[] }
  /** Sends a SIGNAL through the overlay; false when there is no peer to send it through. */
  signal(target: NodeId, payload: Buffer): boolean
  /** Connection setup and handshake to `address` from `socket`, as a punched path. */
  dialPunched(socket: UdpSocket, address: RemoteAddress, target: NodeId): Promise<unknown>
  /** Resolves when a session with `peer` comes up (from either side), within `ms`. */
  sessionWith(peer: NodeId, ms: number): Promise<unknown>
  /** A pool socket that now carries a session: the node owns (and closes) it from here on. */
  adoptSocket(socket: UdpSocket): void
}

export interface PunchOutcome {
  target: NodeId
  role: 'initiator' | 'responder'
  method: 'simple' | 'birthday'
  ok: boolean
  elapsedMs: number
  probesSent: number
  error?: string
}

export interface HolePuncherEvents {
  /** Every attempt, either side, when it ends: for metrics and the lab's figures. */
  outcome: [outcome: PunchOutcome]
}

const ANSWER_TIMEOUT_MS = 5_000

export class HolePuncher extends EventEmitter<HolePuncherEvents> {
  readonly #host: PunchHost
  readonly #log: Logger
  readonly #board = new PunchBoard()
  readonly #answers = new Map<string, (answer: PunchSignal) => void>()
  /** Addresses a path was recently punched to: an inbound dial from one is a punched session. */
  readonly #punched = new Map<string, number>()
  #pools = 0
  /** Origins this node is answering a punch offer from: one attempt per peer at a time. */
  readonly #responding = new Set<NodeId>()
  /** Aborts every punch in progress when the node stops (probes, sprays, birthday pools). */
  readonly #stopping = new AbortController()

  constructor(host: PunchHost, log: Logger) {
    super()
    this.#host = host
    this.#log = log
    this.#board.listen(host.socket)
  }

  /** Stops every punch in progress; their callers fail with OVL_ABORTED. */
  stop(): void {
    this.#stopping.abort()
  }

  get board(): PunchBoard {
    return this.#board
  }

  /** True if a path to `remote` was punched in the last minute. */
  isPunched(remote: RemoteAddress): boolean {
    const until = this.#punched.get(key(remote))
    return until !== undefined && until > Date.now()
  }

  /** Opens a session with `target` through a punched path. */
  async punch(target: NodeId, record: PeerRecord): Promise<unknown> {
    const started = performance.now()
    const self = this.#host.self()
    const method = birthdayRole(self.nat, record.nat)
    if (method === 'impossible') throw new OverlayError('OVL_PUNCH_IMPOSSIBLE', `both ends are behind hard NATs: no direct path can be punched to ${record.name}; use a relay`)
    this.#checkCapacity(method === 'mine')
    const nonce = crypto.randomBytes(16).toString('hex')
    let timer: NodeJS.Timeout | undefined
    const answered = new Promise<PunchSignal>((resolve, reject) => {
      timer = setTimeout(() => {
        this.#answers.delete(nonce)
        reject(new TimeoutError('OVL_PUNCH_FAILED', `${record.name} did not answer the punch offer within ${ANSWER_TIMEOUT_MS} ms`))
      }, ANSWER_TIMEOUT_MS).unref()
      this.#answers.set(nonce, (answer) => {
        clearTimeout(timer)
        this.#answers.delete(nonce)
        resolve(answer)
      })
    })
    const offer: PunchSignal = { type: SignalType.PunchOffer, nonce, nat: self.nat, flags: method === 'mine' ? PunchFlags.Birthday : 0, candidates: self.candidates }
    if (!this.#host.signal(target, encodeSignal(offer))) {
      // Nobody will answer: no timeout may reject `answered` later, unobserved.
      clearTimeout(timer)
      this.#answers.delete(nonce)
      throw new DeliveryError('OVL_NO_ROUTE', 'no peer to send the punch offer through')
    }
    let probesSent = 0
    try {
      const answer = await answered
      const found = await this.#run(nonce, answer, method === 'mine', method === 'theirs' && (answer.flags & PunchFlags.Birthday) !== 0)
      probesSent = found.probesSent
      const session = await (method === 'mine' || method === 'none' ? this.#host.dialPunched(found.socket, found.address, target) : this.#host.sessionWith(target, PUNCH_TIMEOUT_MS))
      this.#report({ target, role: 'initiator', method: method === 'none' ? 'simple' : 'birthday', ok: true, elapsedMs: performance.now() - started, probesSent })
      return session
    } catch (err) {
      this.#report({ target, role: 'initiator', method: method === 'none' ? 'simple' : 'birthday', ok: false, elapsedMs: performance.now() - started, probesSent, error: (err as OverlayError).code ?? String(err) })
      throw err
    }
  }

  /** A PUNCH_OFFER or PUNCH_ANSWER arrived through the overlay. */
  onSignal(origin: NodeId, signal: PunchSignal): void {
    if (signal.type === SignalType.PunchAnswer) {
      this.#answers.get(signal.nonce)?.(signal)
      return
    }
    void this.#respond(origin, signal)
  }

  async #respond(origin: NodeId, offer: PunchSignal): Promise<void> {
    const started = performance.now()
    const self = this.#host.self()
    const method = birthdayRole(self.nat, offer.nat)
    if (method === 'impossible') return
    // The flag is believed only where the NAT types call for the other side's pool: a spray is
    // 2,000 probes at a host the peer names, never to be had by setting a bit.
    const theirPool = method === 'theirs' && (offer.flags & PunchFlags.Birthday) !== 0
    const myPool = method === 'mine'
    try {
      if (this.#responding.has(origin)) throw new OverlayError('OVL_PUNCH_FAILED', 'a punch with this peer is already in progress')
      this.#checkCapacity(myPool)
    } catch (err) {
      this.#log.debug({ peer: origin.slice(0, 10), code: (err as OverlayError).code }, 'punch offer declined')
      return
    }
    this.#responding.add(origin)
    const answer: PunchSignal = { type: SignalType.PunchAnswer, nonce: offer.nonce, nat: self.nat, flags: myPool ? PunchFlags.Birthday : 0, candidates: self.candidates }
    this.#host.signal(origin, encodeSignal(answer))
    let probesSent = 0
    try {
      const found = await this.#run(offer.nonce, offer, myPool, theirPool)
      probesSent = found.probesSent
      if (myPool) await this.#host.dialPunched(found.socket, found.address, origin)
      this.#report({ target: origin, role: 'responder', method: myPool || theirPool ? 'birthday' : 'simple', ok: true, elapsedMs: performance.now() - started, probesSent })
    } catch (err) {
      this.#report({ target: origin, role: 'responder', method: myPool || theirPool ? 'birthday' : 'simple', ok: false, elapsedMs: performance.now() - started, probesSent, error: (err as OverlayError).code ?? String(err) })
    } finally {
      this.#responding.delete(origin)
    }
  }

  /** Probes the other side's candidates (from a pool if `myPool`; spraying its address if `theirPool`). */
  async #run(nonce: string, other: PunchSignal, myPool: boolean, theirPool: boolean): Promise<PathFound> {
    const targets = other.candidates.map(parseAddress).filter((a) => a !== null)
    const pool = myPool ? BirthdayPool.open(BIRTHDAY_POOL_SIZE, this.#host.host) : null
    if (pool) this.#pools++
    try {
      const sprayHost = theirPool ? targets[0]?.host : undefined
      const found = await runPunch(
        this.#board,
        {
        nonce,
        sockets: pool ? pool.sockets : [this.#host.socket],
        targets,
        spray: sprayHost ? { host: sprayHost, count: BIRTHDAY_SPRAY_PROBES, ratePerSecond: BIRTHDAY_SPRAY_PER_SECOND } : undefined,
        intervalMs: pool ? PUNCH_INTERVAL_MS * 5 : PUNCH_INTERVAL_MS,
        timeoutMs: PUNCH_TIMEOUT_MS,
        lingerMs: PUNCH_LINGER_MS,
      },
        this.#stopping.signal,
      )
      this.#punched.set(key(found.address), Date.now() + 60_000)
      if (pool) {
        this.#host.adoptSocket(found.socket)
        await pool.close(found.socket)
      }
      return found
    } catch (err) {
      if (pool) await pool.close()
      throw err
    } finally {
      if (pool) this.#pools--
    }
  }

  #checkCapacity(needsPool: boolean): void {
    if (this.#board.active >= MAX_PUNCH_ATTEMPTS) throw new OverlayError('OVL_PUNCH_FAILED', `${MAX_PUNCH_ATTEMPTS} punches already in progress`)
    if (needsPool && this.#pools >= MAX_BIRTHDAY_POOLS) throw new OverlayError('OVL_PUNCH_FAILED', 'a birthday punch is already in progress')
  }

  #report(outcome: PunchOutcome): void {
    for (const [address, until] of this.#punched) if (until < Date.now()) this.#punched.delete(address)
    this.#log.info({ ...outcome, target: outcome.target.slice(0, 10), elapsedMs: Math.round(outcome.elapsedMs) }, outcome.ok ? 'punched a path' : 'punch failed')
    this.emit('outcome', outcome)
  }
}

/**
 * Who opens a birthday pool: 'mine' when this side is hard and the other is
 * not, 'theirs' the other way round, 'none' when neither is hard, 'impossible'
 * when both are.
 */
export function birthdayRole(mine: NatType, theirs: NatType): 'mine' | 'theirs' | 'none' | 'impossible' {
  const hard = (nat: NatType): boolean => nat === NatType.Hard
  // An open side filters nothing: the hard side's probes reach it, and it answers to where they came from.
  if (mine === NatType.Open || theirs === NatType.Open) return 'none'
  if (hard(mine) && hard(theirs)) return 'impossible'
  if (hard(mine)) return 'mine'
  if (hard(theirs)) return 'theirs'
  return 'none'
}

function key(address: RemoteAddress): string {
  return `${address.host}:${address.port}`
}
