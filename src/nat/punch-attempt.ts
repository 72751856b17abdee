/**
 * One side of a hole punch. Both sides run this at the same time: every
 * `intervalMs` each socket sends a PROBE to each of the other side's
 * candidates; the first PROBE or ACK that arrives names a working path
 * (answering a PROBE with an ACK lets the other side learn it too). After
 * that the attempt lingers, still answering PROBEs, in case our ACK was lost.
 *
 * Facing a hard (symmetric) NAT, the easy side also sprays PROBEs at random
 * ports of the hard side's address while the hard side probes from a pool of
 * sockets (birthday.ts): one of the sprayed ports lands on one of the pool's
 * mappings. Budget: `spray.count` probes at `spray.ratePerSecond`.
 */
import { EventEmitter } from 'node:events'
import { abortError, TimeoutError } from '../errors.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import { PUNCH_MAGIC } from '../constants.js'
import { decodePunchProbe, encodePunchProbe, PunchProbeType } from './punch-probe.js'

export interface PathFound {
  address: RemoteAddress
  /** The socket the path was found on (the node's own, or one of a birthday pool). */
  socket: UdpSocket
  probesSent: number
  elapsedMs: number
}

export interface PunchPlan {
  nonce: string
  sockets: UdpSocket[]
  targets: RemoteAddress[]
  /** Random ports of one address, for the easy side facing a hard NAT. */
  spray?: { host: string; count: number; ratePerSecond: number }
  intervalMs: number
  timeoutMs: number
  /** How long to keep answering PROBEs once a path is found. */
  lingerMs: number
}

type Handler = (type: PunchProbeType, from: RemoteAddress, socket: UdpSocket) => void

/** Routes punch datagrams, on every socket that listens, to the attempt their nonce names. */
export class PunchBoard extends EventEmitter<{ dropped: [reason: 'punch-malformed' | 'punch-unknown', from: RemoteAddress] }> {
  readonly #attempts = new Map<string, Handler>()
  readonly #sockets = new WeakSet<UdpSocket>()

  listen(socket: UdpSocket): void {
    if (this.#sockets.has(socket)) return
    this.#sockets.add(socket)
    socket.handle(PUNCH_MAGIC, (data, from) => {
      const remote = { host: from.host, port: from.port }
      const probe = decodePunchProbe(data)
      if (probe === null) return void this.emit('dropped', 'punch-malformed', remote)
      const handler = this.#attempts.get(probe.nonce)
      if (handler === undefined) return void this.emit('dropped', 'punch-unknown', remote)
      handler(probe.type, remote, socket)
    })
  }

  get active(): number {
    return this.#attempts.size
  }

  open(nonce: string, handler: Handler): () => void {
    this.#attempts.set(nonce, handler)
    return () => {
      if (this.#attempts.get(nonce) === handler) this.#attempts.delete(nonce)
    }
  }
}

export function runPunch(board: PunchBoard, plan: PunchPlan, signal?: AbortSignal): Promise<PathFound> {
  for (const socket of plan.sockets) board.listen(socket)
  const started = performance.now()
  const probe = encodePunchProbe(PunchProbeType.Probe, plan.nonce)
  const ack = encodePunchProbe(PunchProbeType.Ack, plan.nonce)
  let probesSent = 0
  let found: PathFound | null = null

  return new Promise<PathFound>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = []
    const close = board.open(plan.nonce, (type, from, socket) => {
      if (type === PunchProbeType.Probe) socket.send(ack, from.port, from.host)
      if (found !== null) return
      found = { address: from, socket, probesSent, elapsedMs: performance.now() - started }
      stopSending()
      // Linger: keep answering PROBEs in case our ACK was lost.
      timers.push(setTimeout(finish, plan.lingerMs).unref())
      resolve(found)
    })
    const send = (socket: UdpSocket, to: RemoteAddress): void => {
      socket.send(probe, to.port, to.host)
      probesSent++
    }
    const round = (): void => {
      for (const socket of plan.sockets) for (const target of plan.targets) send(socket, target)
    }
    const interval = setInterval(round, plan.intervalMs)
    interval.unref()
    let spray: NodeJS.Timeout | null = null
    if (plan.spray) {
      const { host, count, ratePerSecond } = plan.spray
      const perTick = Math.max(1, Math.round(ratePerSecond / 100))
      let left = count
      spray = setInterval(() => {
        for (let i = 0; i < perTick && left > 0; i++, left--) send(plan.sockets[0] as UdpSocket, { host, port: randomPort() })
        if (left === 0 && spray) clearInterval(spray)
      }, 10)
      spray.unref()
    }
    const stopSending = (): void => {
      clearInterval(interval)
      if (spray) clearInterval(spray)
      signal?.removeEventListener('abort', onAbort)
    }
    const finish = (): void => {
      stopSending()
      for (const timer of timers) clearTimeout(timer)
      close()
    }
    const onAbort = (): void => {
      finish()
      if (found === null) reject(abortError(signal as AbortSignal))
    }
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    timers.push(
      setTimeout(() => {
        if (found !== null) return
        finish()
        reject(new TimeoutError('OVL_PUNCH_FAILED', `no path opened within ${plan.timeoutMs} ms (${probesSent} probes sent to ${plan.targets.length} candidates${plan.spray ? ` and ${plan.spray.host}` : ''})`))
      }, plan.timeoutMs).unref(),
    )
    round()
  })
}

/** A port as a Linux NAT picks them for masquerade: 1024-65535. */
function randomPort(): number {
  return 1024 + Math.floor(Math.random() * (65536 - 1024))
}
