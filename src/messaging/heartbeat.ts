/**
 * Liveness of one session: a PING every interval with at most one in flight
 * (yamux's activePing), round-trip time from the PONG, and "down" as soon as
 * nothing at all has been heard from the peer for the timeout. Any message
 * counts as a sign of life, so a busy session needs no extra traffic to stay up.
 *
 * One timer, set for whichever comes first: the next PING, or the moment the
 * silence would reach the timeout. A dead peer is declared down `timeoutMs`
 * after it was last heard, not at the next interval boundary.
 */
import { TimeoutError } from '../errors.js'

export interface HeartbeatOptions {
  intervalMs: number
  timeoutMs: number
}

export interface HeartbeatTarget {
  sendPing(seq: number): void
  /** When the peer was last heard from (the same clock as `now`). */
  lastReceivedAt(): number
  /** Called once, when the timeout passes without a sign of life. */
  onDown(error: TimeoutError): void
  /** A PING went unanswered for one interval. */
  onMissed?(): void
}

export class Heartbeat {
  readonly #target: HeartbeatTarget
  readonly #options: HeartbeatOptions
  readonly #now: () => number
  #timer: NodeJS.Timeout | null = null
  #seq = 0
  #inFlight: { seq: number; sentAt: number; missed: boolean } | null = null
  #lastPingAt = -Infinity
  #rttMs: number | null = null
  #lastRttMs: number | null = null
  #missed = 0
  #stopped = false

  constructor(target: HeartbeatTarget, options: HeartbeatOptions, now: () => number = () => performance.now()) {
    this.#target = target
    this.#options = options
    this.#now = now
  }

  /** Smoothed round-trip time (ms, RFC 6298 weights), null until the first PONG. */
  get rttMs(): number | null {
    return this.#rttMs
  }

  /** The last PONG's round trip (ms). */
  get lastRttMs(): number | null {
    return this.#lastRttMs
  }

  /** PINGs not answered within one interval. */
  get missed(): number {
    return this.#missed
  }

  start(): void {
    if (this.#timer || this.#stopped) return
    this.#tick()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** A PONG arrived; returns its round trip (ms), or null if it answers no PING in flight. */
  onPong(seq: number): number | null {
    const ping = this.#inFlight
    if (ping === null || ping.seq !== seq) return null
    this.#inFlight = null
    const now = this.#now()
    const rtt = now - ping.sentAt
    if (!this.#stopped) this.#schedule(now)
    this.#lastRttMs = rtt
    this.#rttMs = this.#rttMs === null ? rtt : this.#rttMs * 0.875 + rtt * 0.125
    return rtt
  }

  #tick(): void {
    this.#timer = null
    if (this.#stopped) return
    const now = this.#now()
    const heardAt = this.#target.lastReceivedAt()
    const silentFor = now - heardAt
    if (silentFor >= this.#options.timeoutMs) {
      this.stop()
      this.#target.onDown(new TimeoutError('OVL_HEARTBEAT_TIMEOUT', `nothing heard from the peer for ${Math.round(silentFor)} ms (timeout ${this.#options.timeoutMs} ms)`))
      return
    }
    const ping = this.#inFlight
    if (ping !== null && !ping.missed && now - ping.sentAt >= this.#options.intervalMs) {
      ping.missed = true
      this.#missed++
      this.#target.onMissed?.()
    }
    if (ping === null && now - this.#lastPingAt >= this.#options.intervalMs) {
      this.#seq = (this.#seq + 1) & 0x7fff_ffff // the top bit is left to explicit pings
      this.#inFlight = { seq: this.#seq, sentAt: now, missed: false }
      this.#lastPingAt = now
      this.#target.sendPing(this.#seq)
    }
    this.#schedule(now)
  }

  /** The next moment something is due: a PING, marking one missed, or the timeout. */
  #schedule(now: number): void {
    if (this.#timer) clearTimeout(this.#timer)
    const ping = this.#inFlight
    const deadline = this.#target.lastReceivedAt() + this.#options.timeoutMs
    let due = deadline
    if (ping === null) due = Math.min(due, this.#lastPingAt + this.#options.intervalMs)
    else if (!ping.missed) due = Math.min(due, ping.sentAt + this.#options.intervalMs)
    this.#timer = setTimeout(() => this.#tick(), Math.max(1, Math.ceil(due - now)))
    this.#timer.unref()
  }
}
