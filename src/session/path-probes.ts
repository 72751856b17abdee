/**
 * Sends and answers the path probes of every session (see probe-datagram.ts),
 * on whichever socket carries the session. A PING from the session's address
 * is answered with a PONG, once per sequence number; anything that does not
 * verify is dropped without a reply, so probes can neither be forged nor used
 * to reflect traffic.
 *
 * A verified probe from another address than the session's is how a NAT
 * rebinding shows (its mapping was forgotten and made anew). It is not proof
 * that the peer is there: an attacker on the path can hold a probe back and
 * send it on from any address. So the new address is challenged first (as
 * QUIC validates a path, RFC 9000 8.2): a PING with a sequence number sent to
 * that address alone, and only its PONG, from that address, reports 'moved'
 * so the session can follow. A PING from there still gets its PONG (it may
 * be the peer's own challenge: when both ends moved at once, each must answer
 * the other's), so such an address gets at most twice what it sent, and one
 * challenge a second at most (a PING answered with a PING, both ways, would
 * never end).
 *
 * Sequence numbers on the wire are this class's own (one counter per
 * session for heartbeats and challenges alike, as the peer takes each PING
 * once, in order); the heartbeat's own numbers are mapped to them and back.
 */
import { EventEmitter } from 'node:events'
import type { UdxAddress } from 'udx-native'
import { PROBE_MAGIC } from '../constants.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import { encodeProbe, probeTag, ProbeType, verifyProbe, type ProbeKeys } from './probe-datagram.js'

export interface ProbeTarget {
  readonly probeKeys: ProbeKeys
}

export type ProbeDropReason = 'probe-unknown-session' | 'probe-bad-mac' | 'probe-replayed' | 'probe-malformed'

export interface PathProbeEvents<S> {
  /** A verified probe from the session's peer: it is alive. */
  heard: [session: S, from: RemoteAddress]
  pong: [session: S, seq: number]
  /** The peer answered a challenge from another address than the session's: its NAT mapping changed. */
  moved: [session: S, from: RemoteAddress]
  dropped: [reason: ProbeDropReason, from: RemoteAddress]
}

/** Challenges to one new address that are still waited for. */
const CHALLENGES_KEPT = 4
/** At most one challenge this often per session. */
const CHALLENGE_INTERVAL_MS = 1_000

interface Registered<S> {
  session: S
  socket: UdpSocket
  remote: RemoteAddress
  /** The highest sequence numbers of the peer's PINGs and PONGs taken (replays are dropped). */
  lastPingSeq: number
  lastPongSeq: number
  /** The sequence number of this side's last PING on the wire. */
  sentSeq: number
  /** The last heartbeat PING: its number on the wire and the caller's. */
  heartbeat: { wire: number; seq: number } | null
  /** An address the peer's probes came from, the numbers of the challenges sent there, and when the last went. */
  challenge: { remote: RemoteAddress; wires: number[]; sentAt: number } | null
}

function sameAddress(a: RemoteAddress, b: RemoteAddress): boolean {
  return a.host === b.host && a.port === b.port
}

export class PathProbes<S extends ProbeTarget> extends EventEmitter<PathProbeEvents<S>> {
  readonly #byTag = new Map<string, Registered<S>>()
  readonly #sockets = new WeakSet<UdpSocket>()

  /** Answers probes arriving on `socket` (the node's socket, and any other a session runs on). */
  listen(socket: UdpSocket): void {
    if (this.#sockets.has(socket)) return
    this.#sockets.add(socket)
    socket.handle(PROBE_MAGIC, (data, from) => this.#onDatagram(socket, data, from))
  }

  register(session: S, path: { socket: UdpSocket; remote: RemoteAddress }): void {
    this.listen(path.socket)
    this.#byTag.set(session.probeKeys.tag, { session, socket: path.socket, remote: { ...path.remote }, lastPingSeq: -1, lastPongSeq: -1, sentSeq: 0, heartbeat: null, challenge: null })
  }

  unregister(session: S): void {
    if (this.#byTag.get(session.probeKeys.tag)?.session === session) this.#byTag.delete(session.probeKeys.tag)
  }

  /** The session's peer is now at `remote` (it moved, and the session followed). */
  retarget(session: S, remote: RemoteAddress): void {
    const entry = this.#byTag.get(session.probeKeys.tag)
    if (entry?.session !== session) return
    entry.remote = { ...remote }
    entry.challenge = null
  }

  get size(): number {
    return this.#byTag.size
  }

  /** A heartbeat PING; a PONG to it is reported as 'pong' with `seq`. */
  ping(session: S, seq: number): void {
    const entry = this.#byTag.get(session.probeKeys.tag)
    if (entry?.session !== session) return
    const wire = (entry.sentSeq = (entry.sentSeq + 1) >>> 0)
    entry.heartbeat = { wire, seq }
    entry.socket.send(encodeProbe(ProbeType.Ping, session.probeKeys, wire), entry.remote.port, entry.remote.host)
  }

  #onDatagram(socket: UdpSocket, data: Buffer, from: UdxAddress): void {
    const remote = { host: from.host, port: from.port }
    const tag = probeTag(data)
    if (tag === null) return void this.emit('dropped', 'probe-malformed', remote)
    const entry = this.#byTag.get(tag)
    if (entry === undefined || entry.socket !== socket) return void this.emit('dropped', 'probe-unknown-session', remote)
    const probe = verifyProbe(data, entry.session.probeKeys)
    if (probe === null) return void this.emit('dropped', 'probe-bad-mac', remote)
    const elsewhere = !sameAddress(remote, entry.remote)
    if (probe.type === ProbeType.Ping) {
      // One answer per PING seq: a replayed PING gets nothing.
      if (probe.seq <= entry.lastPingSeq) return void this.emit('dropped', 'probe-replayed', remote)
      entry.lastPingSeq = probe.seq
      socket.send(encodeProbe(ProbeType.Pong, entry.session.probeKeys, probe.seq), remote.port, remote.host)
      if (elsewhere) this.#challenge(entry, remote)
    } else {
      // A replayed PONG must not make a dead peer look alive.
      if (probe.seq <= entry.lastPongSeq) return void this.emit('dropped', 'probe-replayed', remote)
      entry.lastPongSeq = probe.seq
      if (elsewhere) {
        if (entry.challenge !== null && sameAddress(entry.challenge.remote, remote) && entry.challenge.wires.includes(probe.seq)) {
          entry.challenge = null
          this.emit('moved', entry.session, remote)
        } else {
          this.#challenge(entry, remote)
        }
      }
    }
    this.emit('heard', entry.session, remote)
    const heartbeat = entry.heartbeat
    if (probe.type === ProbeType.Pong && heartbeat?.wire === probe.seq) this.emit('pong', entry.session, heartbeat.seq)
  }

  /** A PING to `to` alone (one a second at most): its PONG from there is the proof that the peer is there. */
  #challenge(entry: Registered<S>, to: RemoteAddress): void {
    const now = performance.now()
    const previous = entry.challenge
    if (previous !== null && now - previous.sentAt < CHALLENGE_INTERVAL_MS) return
    const wires = previous !== null && sameAddress(previous.remote, to) ? previous.wires : []
    const wire = (entry.sentSeq = (entry.sentSeq + 1) >>> 0)
    wires.push(wire)
    if (wires.length > CHALLENGES_KEPT) wires.shift()
    entry.challenge = { remote: { ...to }, wires, sentAt: now }
    entry.socket.send(encodeProbe(ProbeType.Ping, entry.session.probeKeys, wire), to.port, to.host)
  }
}
