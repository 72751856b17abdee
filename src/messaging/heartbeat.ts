/**
 * Liveness of one session: a PING every interval, round-trip time from the
 * PONG, and "down" as soon as nothing at all has been heard from the peer for
 * the timeout. Any sign of life counts (a message, a probe), so a busy session
 * needs no extra traffic to stay up.
 *
 * One PING in flight. PINGs travel as datagrams, which may be lost: one not
 * answered within `retryMs` (a quarter interval, or three round trips if that
 * is longer) is counted missed and replaced by a fresh one, so a lossy path is
 * probed faster instead of falling silent. With 10 % loss each way and the
 * default settings, a live peer stays up; a dead one is declared down
 * `timeoutMs` after it was last heard.
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
  /** A PING went unanswered and was replaced. */
  onMissed?(): void
}

export class Heartbeat {
  readonly #target: HeartbeatTarget
  readonly #options: HeartbeatOptions
  readonly #now: () => number
  #timer: NodeJS.Timeout | null = null
  #seq = 0
  #inFlight: { seq: number; sentAt: number } | null = null
  #lastPongAt = -Infinity
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

  /** PINGs not answered in time. */
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
    this.#lastPongAt = now
    this.#lastRttMs = rtt
    this.#rttMs = this.#rttMs === null ? rtt : this.#rttMs * 0.875 + rtt * 0.125
    if (!this.#stopped) this.#schedule(now)
    return rtt
  }

  /** How long to wait for a PONG before the PING counts as lost. */
  get retryMs(): number {
    return Math.max(this.#options.intervalMs / 4, 3 * (this.#rttMs ?? 0))
  }

  #tick(): void {
    this.#timer = null
    if (this.#stopped) return
    const now = this.#now()
    const silentFor = now - this.#target.lastReceivedAt()
    if (silentFor >= this.#options.timeoutMs) {
      this.stop()
      this.#target.onDown(new TimeoutError('OVL_HEARTBEAT_TIMEOUT', `nothing heard from the peer for ${Math.round(silentFor)} ms (timeout ${this.#options.timeoutMs} ms)`))
      return
    }
    const ping = this.#inFlight
    if (ping !== null && now - ping.sentAt >= this.retryMs) {
      this.#missed++
      this.#target.onMissed?.()
      this.#send(now)
    } else if (ping === null && now - this.#lastPongAt >= this.#options.intervalMs) {
      this.#send(now)
    }
    this.#schedule(now)
  }

  #send(now: number): void {
    this.#seq = (this.#seq + 1) & 0x7fff_ffff // the top bit is left to explicit pings
    this.#inFlight = { seq: this.#seq, sentAt: now }
    this.#target.sendPing(this.#seq)
  }

  /** The next moment something is due: a PING, a retry, or the timeout. */
  #schedule(now: number): void {
    if (this.#timer) clearTimeout(this.#timer)
    const ping = this.#inFlight
    const deadline = this.#target.lastReceivedAt() + this.#options.timeoutMs
    const due = Math.min(deadline, ping === null ? this.#lastPongAt + this.#options.intervalMs : ping.sentAt + this.retryMs)
    this.#timer = setTimeout(() => this.#tick(), Math.max(1, Math.ceil(due - now)))
    this.#timer.unref()
  }
}
