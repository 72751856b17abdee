/**
 * Sends and answers the path probes of every session (see probe-datagram.ts),
 * on whichever socket carries the session. A PING is answered with a PONG to
 * wherever it came from, once per sequence number; anything that does not
 * verify is dropped without a reply, so probes can neither be forged nor used
 * to reflect traffic.
 *
 * A verified probe from another address than the session's is how a NAT
 * rebinding shows (its mapping was forgotten and made anew): reported as
 * 'moved', so the session can follow.
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
  /** A verified probe came from another address than the session's: the peer's NAT mapping changed. */
  moved: [session: S, from: RemoteAddress]
  dropped: [reason: ProbeDropReason, from: RemoteAddress]
}

interface Registered<S> {
  session: S
  socket: UdpSocket
  remote: RemoteAddress
  lastPingSeq: number
  lastPongSeq: number
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
    this.#byTag.set(session.probeKeys.tag, { session, socket: path.socket, remote: { ...path.remote }, lastPingSeq: -1, lastPongSeq: -1 })
  }

  unregister(session: S): void {
    if (this.#byTag.get(session.probeKeys.tag)?.session === session) this.#byTag.delete(session.probeKeys.tag)
  }

  /** The session's peer is now at `remote` (it moved, and the session followed). */
  retarget(session: S, remote: RemoteAddress): void {
    const entry = this.#byTag.get(session.probeKeys.tag)
    if (entry?.session === session) entry.remote = { ...remote }
  }

  get size(): number {
    return this.#byTag.size
  }

  ping(session: S, seq: number): void {
    const entry = this.#byTag.get(session.probeKeys.tag)
    if (entry?.session !== session) return
    entry.socket.send(encodeProbe(ProbeType.Ping, session.probeKeys, seq), entry.remote.port, entry.remote.host)
  }

  #onDatagram(socket: UdpSocket, data: Buffer, from: UdxAddress): void {
    const remote = { host: from.host, port: from.port }
    const tag = probeTag(data)
    if (tag === null) return void this.emit('dropped', 'probe-malformed', remote)
    const entry = this.#byTag.get(tag)
    if (entry === undefined || entry.socket !== socket) return void this.emit('dropped', 'probe-unknown-session', remote)
    const probe = verifyProbe(data, entry.session.probeKeys)
    if (probe === null) return void this.emit('dropped', 'probe-bad-mac', remote)
    if (probe.type === ProbeType.Ping) {
      // One PONG per PING seq: a replayed PING gets nothing.
      if (probe.seq <= entry.lastPingSeq) return void this.emit('dropped', 'probe-replayed', remote)
      entry.lastPingSeq = probe.seq
      socket.send(encodeProbe(ProbeType.Pong, entry.session.probeKeys, probe.seq), remote.port, remote.host)
    } else {
      // A replayed PONG must not make a dead peer look alive.
      if (probe.seq <= entry.lastPongSeq) return void this.emit('dropped', 'probe-replayed', remote)
      entry.lastPongSeq = probe.seq
    }
    if (remote.host !== entry.remote.host || remote.port !== entry.remote.port) this.emit('moved', entry.session, remote)
    this.emit('heard', entry.session, remote)
    if (probe.type === ProbeType.Pong) this.emit('pong', entry.session, probe.seq)
  }
}
