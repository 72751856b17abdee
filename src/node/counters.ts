/**
 * Running totals of what a node did, fed by its own events: what `stats`
 * prints (and, later, what /metrics exports). Counts only; nothing here
 * keeps per-message state.
 */
import { MessageType, type Message } from '../messaging/messages.js'
import type { Session } from '../session/session.js'

export interface CounterSnapshot {
  sessionsOpened: number
  sessionsClosed: number
  handshakeFailures: number
  peersDeclaredDown: number
  heartbeatsMissed: number
  messagesIn: Record<string, number>
  bytesIn: number
  bytesOut: number
  framesIn: number
  framesOut: number
  rejected: Record<string, number>
}

export class Counters {
  sessionsOpened = 0
  sessionsClosed = 0
  handshakeFailures = 0
  peersDeclaredDown = 0
  heartbeatsMissed = 0
  readonly messagesIn = new Map<string, number>()
  readonly rejected = new Map<string, number>()
  /** Traffic of sessions already closed; live ones are added at snapshot time. */
  #closed = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }

  message(message: Message): void {
    const name = MessageType[message.type]
    this.messagesIn.set(name, (this.messagesIn.get(name) ?? 0) + 1)
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1)
  }

  sessionClosed(session: Session<Message>): void {
    this.sessionsClosed++
    const s = session.stats
    this.#closed.bytesIn += s.bytesIn
    this.#closed.bytesOut += s.bytesOut
    this.#closed.framesIn += s.framesIn
    this.#closed.framesOut += s.framesOut
  }

  snapshot(live: Iterable<Session<Message>>): CounterSnapshot {
    const traffic = { ...this.#closed }
    for (const session of live) {
      const s = session.stats
      traffic.bytesIn += s.bytesIn
      traffic.bytesOut += s.bytesOut
      traffic.framesIn += s.framesIn
      traffic.framesOut += s.framesOut
    }
    return {
      sessionsOpened: this.sessionsOpened,
      sessionsClosed: this.sessionsClosed,
      handshakeFailures: this.handshakeFailures,
      peersDeclaredDown: this.peersDeclaredDown,
      heartbeatsMissed: this.heartbeatsMissed,
      messagesIn: Object.fromEntries(this.messagesIn),
      ...traffic,
      rejected: Object.fromEntries(this.rejected),
    }
  }
}
