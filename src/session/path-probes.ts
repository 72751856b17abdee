/**
 * Sends and answers the path probes of every session on the node's socket
 * (see probe-datagram.ts). A PING is answered with a PONG to wherever it came
 * from, once per sequence number; anything that does not verify is dropped
 * without a reply, so probes can neither be forged nor used to reflect traffic.
 */
import { EventEmitter } from 'node:events'
import type { UdxAddress } from 'udx-native'
import { PROBE_MAGIC } from '../constants.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { UdpSocket } from '../transport/udp-socket.js'
import { encodeProbe, probeTag, ProbeType, verifyProbe, type ProbeKeys } from './probe-datagram.js'

export interface ProbeTarget {
  readonly probeKeys: ProbeKeys
  /** Where the peer's packets come from. */
  readonly remote: RemoteAddress
}

export type ProbeDropReason = 'probe-unknown-session' | 'probe-bad-mac' | 'probe-replayed' | 'probe-malformed'

export interface PathProbeEvents<S> {
  /** A verified probe from the session's peer: it is alive, and reachable at `from`. */
  heard: [session: S, from: RemoteAddress]
  pong: [session: S, seq: number]
  dropped: [reason: ProbeDropReason, from: RemoteAddress]
}

interface Registered<S> {
  session: S
  lastPingSeq: number
  lastPongSeq: number
}

export class PathProbes<S extends ProbeTarget> extends EventEmitter<PathProbeEvents<S>> {
  readonly #socket: UdpSocket
  readonly #byTag = new Map<string, Registered<S>>()

  constructor(socket: UdpSocket) {
    super()
    this.#socket = socket
    socket.handle(PROBE_MAGIC, (data, from) => this.#onDatagram(data, from))
  }

  register(session: S): void {
    this.#byTag.set(session.probeKeys.tag, { session, lastPingSeq: -1, lastPongSeq: -1 })
  }

  unregister(session: S): void {
    if (this.#byTag.get(session.probeKeys.tag)?.session === session) this.#byTag.delete(session.probeKeys.tag)
  }

  get size(): number {
    return this.#byTag.size
  }

  ping(session: S, seq: number, to: RemoteAddress = session.remote): void {
    this.#socket.send(encodeProbe(ProbeType.Ping, session.probeKeys, seq), to.port, to.host)
  }

  #onDatagram(data: Buffer, from: UdxAddress): void {
    const remote = { host: from.host, port: from.port }
    const tag = probeTag(data)
    if (tag === null) return void this.emit('dropped', 'probe-malformed', remote)
    const entry = this.#byTag.get(tag)
    if (entry === undefined) return void this.emit('dropped', 'probe-unknown-session', remote)
    const probe = verifyProbe(data, entry.session.probeKeys)
    if (probe === null) return void this.emit('dropped', 'probe-bad-mac', remote)
    if (probe.type === ProbeType.Ping) {
      // One PONG per PING seq: a replayed PING gets nothing.
      if (probe.seq <= entry.lastPingSeq) return void this.emit('dropped', 'probe-replayed', remote)
      entry.lastPingSeq = probe.seq
      this.#socket.send(encodeProbe(ProbeType.Pong, entry.session.probeKeys, probe.seq), remote.port, remote.host)
      this.emit('heard', entry.session, remote)
      return
    }
    // A replayed PONG must not make a dead peer look alive.
    if (probe.seq <= entry.lastPongSeq) return void this.emit('dropped', 'probe-replayed', remote)
    entry.lastPongSeq = probe.seq
    this.emit('heard', entry.session, remote)
    this.emit('pong', entry.session, probe.seq)
  }
}
