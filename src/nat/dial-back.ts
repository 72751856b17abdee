/**
 * Is this address of mine reachable from outside? Asks a peer to send one
 * punch probe to it (a DIAL_BACK message) and waits for the probe to arrive
 * on the node's socket. Used before advertising a UPnP port mapping: a mapped
 * address is only put in the node's record once it has been seen to work.
 *
 * The peer's side sends one 20-byte datagram per request, and answers at most
 * one request per session every DIAL_BACK_INTERVAL_MS: it cannot be made to
 * flood an address.
 */
import crypto from 'node:crypto'
import { send } from '../messaging/liveness.js'
import { MessageType, type DialBackMessage, type Message } from '../messaging/messages.js'
import { formatAddress, parseAddress } from '../messaging/peer-record.js'
import type { Session } from '../session/session.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import type { PunchBoard } from './punch-attempt.js'
import { encodePunchProbe, PunchProbeType } from './punch-probe.js'

type OverlaySession = Session<Message>

export const DIAL_BACK_INTERVAL_MS = 10_000
const DIAL_BACK_TIMEOUT_MS = 3_000

export class DialBack {
  readonly #socket: UdpSocket
  readonly #board: PunchBoard
  readonly #answered = new WeakMap<OverlaySession, number>()

  constructor(socket: UdpSocket, board: PunchBoard) {
    this.#socket = socket
    this.#board = board
  }

  /** Asks `helper` to send a probe to `address`; true if it arrived here within the timeout. */
  verify(address: RemoteAddress, helper: OverlaySession): Promise<boolean> {
    const nonce = crypto.randomBytes(16).toString('hex')
    return new Promise<boolean>((resolve) => {
      const close = this.#board.open(nonce, () => {
        clearTimeout(timer)
        close()
        resolve(true)
      })
      const timer = setTimeout(() => {
        close()
        resolve(false)
      }, DIAL_BACK_TIMEOUT_MS).unref()
      if (!send(helper, { type: MessageType.DialBack, nonce, address: formatAddress(address) })) {
        clearTimeout(timer)
        close()
        resolve(false)
      }
    })
  }

  /** A peer asks for a probe to one of its addresses. */
  onRequest(session: OverlaySession, message: DialBackMessage): void {
    const last = this.#answered.get(session) ?? -Infinity
    const target = parseAddress(message.address)
    if (target === null || performance.now() - last < DIAL_BACK_INTERVAL_MS) return
    this.#answered.set(session, performance.now())
    this.#socket.send(encodePunchProbe(PunchProbeType.Probe, message.nonce), target.port, target.host)
  }
}

