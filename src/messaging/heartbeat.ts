/**
 * Liveness of one session: a PING every interval with at most one in flight
 * (yamux's activePing), round-trip time from the PONG, and "down" when nothing
 * at all has been heard from the peer for the timeout. Any frame counts as a
 * sign of life, so a busy session needs no extra traffic to stay up.
 */
import { TimeoutError } from '../errors.js'

export interface HeartbeatOptions {
  intervalMs: number
  timeoutMs: number
}

export interface HeartbeatTarget {
  sendPing(seq: number): void
  /** When the peer was last heard from (performance.now() milliseconds). */
  lastReceivedAt(): number
  /** Called once, when the timeout passes without a sign of life. */
  onDown(error: TimeoutError): void
}

export class Heartbeat {
  readonly #target: HeartbeatTarget
  readonly #options: HeartbeatOptions
  readonly #now: () => number
  #timer: NodeJS.Timeout | null = null
  #seq = 0
  #inFlight: { seq: number; sentAt: number; missed: boolean } | null = null
  #rttMs: number | null = null
  #missed = 0
  #stopped = false

  constructor(target: HeartbeatTarget, options: HeartbeatOptions, now: () => number = () => performance.now()) {
    this.#target = target
    this.#options = options
    this.#now = now
  }

  /** Smoothed round-trip time (ms), null until the first PONG. */
  get rttMs(): number | null {
    return this.#rttMs
  }

  /** PINGs not answered within one interval. */
  get missed(): number {
    return this.#missed
  }

  start(): void {
    if (this.#timer || this.#stopped) return
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs)
    this.#timer.unref()
    this.#tick()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
  }

  /** A PONG arrived; returns its round trip (ms), or null if it answers no PING in flight. */
  onPong(seq: number): number | null {
    const ping = this.#inFlight
    if (ping === null || ping.seq !== seq) return null
    this.#inFlight = null
    const rtt = this.#now() - ping.sentAt
    this.#rttMs = this.#rttMs === null ? rtt : this.#rttMs * 0.8 + rtt * 0.2
    return rtt
  }

  #tick(): void {
    const now = this.#now()
    const silentFor = now - this.#target.lastReceivedAt()
    if (silentFor > this.#options.timeoutMs) {
      this.stop()
      this.#target.onDown(new TimeoutError('OVL_HEARTBEAT_TIMEOUT', `nothing heard from the peer for ${Math.round(silentFor)} ms (timeout ${this.#options.timeoutMs} ms)`))
      return
    }
    const ping = this.#inFlight
    if (ping !== null) {
      if (!ping.missed && now - ping.sentAt >= this.#options.intervalMs) {
        ping.missed = true
        this.#missed++
      }
      return // one PING in flight at a time
    }
    this.#seq = (this.#seq + 1) >>> 0
    this.#inFlight = { seq: this.#seq, sentAt: now, missed: false }
    this.#target.sendPing(this.#seq)
  }
}
