/**
 * Heartbeats on every session: one Heartbeat per session, fed by every message
 * that arrives on it. A session whose peer falls silent for the timeout is
 * failed with OVL_HEARTBEAT_TIMEOUT. Also answers PINGs, and runs the
 * operator's explicit `ping` (sequence numbers with the top bit set, so they
 * never collide with the heartbeat's own).
 */
import { EventEmitter } from 'node:events'
import { TimeoutError, type OverlayError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Session } from '../session/session.js'
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js'
import { MessageType, type Message, type PingMessage, type PongMessage } from './messages.js'

type OverlaySession = Session<Message>

const EXPLICIT_BIT = 0x8000_0000

interface Watched {
  heartbeat: Heartbeat
  lastReceivedAt: number
  explicit: Map<number, { sentAt: number; resolve: (rttMs: number) => void }>
}

export interface PeerLiveness {
  rttMs: number | null
  lastRttMs: number | null
  missed: number
  silentForMs: number
}

export interface LivenessEvents {
  /** A PONG to a heartbeat PING: for metrics. */
  rtt: [peer: NodeId, rttMs: number]
  /** A PING went unanswered for one interval. */
  missed: [peer: NodeId]
  /** The peer fell silent for the timeout; its session is being failed. */
  down: [peer: NodeId, error: OverlayError]
}

/** Sends a heartbeat PING; by default a PING message on the session's stream. */
export type Pinger = (session: OverlaySession, seq: number) => void

export class Liveness extends EventEmitter<LivenessEvents> {
  readonly #options: HeartbeatOptions
  readonly #pinger: Pinger
  readonly #watched = new Map<OverlaySession, Watched>()
  #explicitSeq = 0

  constructor(options: HeartbeatOptions, pinger: Pinger = (session, seq) => send(session, { type: MessageType.Ping, seq })) {
    super()
    this.#options = options
    this.#pinger = pinger
  }

  /** Starts heartbeats on a session that just came up. */
  watch(session: OverlaySession): void {
    if (this.#watched.has(session)) return
    const watched: Watched = {
      lastReceivedAt: performance.now(),
      explicit: new Map(),
      heartbeat: new Heartbeat(
        {
          sendPing: (seq) => this.#pinger(session, seq),
          onMissed: () => this.emit('missed', session.peerId),
          lastReceivedAt: () => watched.lastReceivedAt,
          onDown: (error) => {
            this.emit('down', session.peerId, error)
            session.fail(error)
          },
        },
        this.#options,
      ),
    }
    this.#watched.set(session, watched)
    watched.heartbeat.start()
    session.once('close', () => this.unwatch(session))
  }

  unwatch(session: OverlaySession): void {
    const watched = this.#watched.get(session)
    if (!watched) return
    watched.heartbeat.stop()
    this.#watched.delete(session)
    for (const pending of watched.explicit.values()) pending.resolve(Number.NaN)
  }

  /** Every message from a peer is a sign of life. */
  heard(session: OverlaySession): void {
    const watched = this.#watched.get(session)
    if (watched) watched.lastReceivedAt = performance.now()
  }

  onPing(session: OverlaySession, message: PingMessage): void {
    send(session, { type: MessageType.Pong, seq: message.seq })
  }

  onPong(session: OverlaySession, message: PongMessage): void {
    const watched = this.#watched.get(session)
    if (!watched) return
    if ((message.seq & EXPLICIT_BIT) !== 0) {
      const pending = watched.explicit.get(message.seq)
      if (!pending) return
      watched.explicit.delete(message.seq)
      pending.resolve(performance.now() - pending.sentAt)
      return
    }
    this.#heartbeatPong(watched, session, message.seq)
  }

  /** Sends a heartbeat PING as a message on the session's stream (for paths that do not carry probes). */
  streamPing(session: OverlaySession, seq: number): void {
    send(session, { type: MessageType.Ping, seq })
  }

  /** A PONG to a heartbeat PING that went some other way (a path probe). */
  onProbePong(session: OverlaySession, seq: number): void {
    const watched = this.#watched.get(session)
    if (watched) this.#heartbeatPong(watched, session, seq)
  }

  #heartbeatPong(watched: Watched, session: OverlaySession, seq: number): void {
    const rtt = watched.heartbeat.onPong(seq)
    if (rtt !== null) this.emit('rtt', session.peerId, rtt)
  }

  /** An explicit PING on the session; resolves with the round trip in ms. */
  ping(session: OverlaySession, timeoutMs: number): Promise<number> {
    const watched = this.#watched.get(session)
    if (!watched) return Promise.reject(new TimeoutError('OVL_SESSION_CLOSED', 'no live session to ping'))
    this.#explicitSeq = (this.#explicitSeq + 1) & ~EXPLICIT_BIT
    const seq = (EXPLICIT_BIT | this.#explicitSeq) >>> 0
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        watched.explicit.delete(seq)
        reject(new TimeoutError('OVL_TIMEOUT', `no PONG from ${session.peer.name} within ${timeoutMs} ms`))
      }, timeoutMs).unref()
      watched.explicit.set(seq, {
        sentAt: performance.now(),
        resolve: (rtt) => {
          clearTimeout(timer)
          if (Number.isNaN(rtt)) reject(new TimeoutError('OVL_SESSION_CLOSED', `the session with ${session.peer.name} closed`))
          else resolve(rtt)
        },
      })
      send(session, { type: MessageType.Ping, seq })
    })
  }

  stats(session: OverlaySession): PeerLiveness | null {
    const watched = this.#watched.get(session)
    if (!watched) return null
    return {
      rttMs: watched.heartbeat.rttMs,
      lastRttMs: watched.heartbeat.lastRttMs,
      missed: watched.heartbeat.missed,
      silentForMs: performance.now() - watched.lastReceivedAt,
    }
  }

  stop(): void {
    for (const session of [...this.#watched.keys()]) this.unwatch(session)
  }
}

/** Sends unless the session has closed meanwhile (a race the caller cannot avoid). */
export function send(session: OverlaySession, message: Message): boolean {
  if (!session.writable) return false
  session.send(message)
  return true
}
