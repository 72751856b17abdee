/**
 * A session: an authenticated, framed, bidirectional channel to one peer,
 * opened by a TLS 1.3 handshake and carried in records sealed under keys from
 * it (SecureChannel). It starts in the `binding` state (TLS is up, the peer is not yet
 * trusted): both sides check each other's certificate, exchange Ed25519
 * binding proofs and acknowledge them. It is `up` only when this side has
 * verified the peer's proof AND the peer has acknowledged ours.
 *
 * Anything malformed closes the session with a typed error; the reason is sent
 * to the peer in a CLOSE frame first, so both ends log the same code.
 *
 * A session ends cleanly only by a sealed frame: CLOSE (with a reason) or END
 * (without). UDX's END and resets are not authenticated, so a stream that
 * ends without one of them was cut short (OVL_SESSION_TRUNCATED), as TLS
 * treats a connection closed without close_notify.
 */
import crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import { ClosedError, HandshakeError, OverlayError, ProtocolError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import type { NodeId } from '../identity/node-id.js'
import type { RemoteAddress } from '../transport/connection.js'
import type { BinaryWriter } from '../util/binary.js'
import { decodeBindingProof, encodeBindingProof, signBinding, verifyBinding, type TlsRole } from './binding.js'
import { encodeFrame, FrameDecoder, FrameWriter, type Frame } from './framing.js'
import { deriveProbeKeys, type ProbeKeys } from './probe-datagram.js'
import { checkPeerCertificate, type PeerCertificateInfo } from './peer-certificate.js'
import type { RevocationList } from './revocation.js'
import type { HandshakeResult, SecureChannel } from './secure-channel.js'
import { decodeClose, encodeClose, FIRST_MESSAGE_TYPE, SessionFrame } from './session-frames.js'
import type { TlsConfig } from './tls-context.js'
import { mapTlsError } from './tls-errors.js'

/** How the layer above turns its messages into frames and back. decode() throws a ProtocolError on bad input. */
export interface MessageCodec<M> {
  /** Writes the message's body into `w` (straight into the session's batch of frames) and returns its frame type. */
  write(w: BinaryWriter, message: M): number
  decode(type: number, body: Buffer): M
}

export interface SessionInit<M> {
  /** The channel, its TLS handshake complete (secure() called). */
  channel: SecureChannel
  /** What channel.secure() returned. */
  handshake: HandshakeResult
  role: TlsRole
  remote: RemoteAddress
  tls: TlsConfig
  identity: Identity
  revocation: RevocationList
  codec: MessageCodec<M>
  maxFrameBytes: number
}

export interface SessionEvents<M> {
  up: []
  message: [message: M]
  drain: []
  /** Emitted once. `error` is null for an orderly close by either side. */
  close: [error: OverlayError | null]
}

export type SessionState = 'binding' | 'up' | 'closed'

/** `cause`: the stream's own error (a UDX reset or timeout), if it ended with one. */
function truncatedError(cause?: Error): ProtocolError {
  const how = cause === undefined ? '' : ` (${cause.message})`
  return new ProtocolError('OVL_SESSION_TRUNCATED', `the peer's stream ended without its END or CLOSE frame${how}`, { cause })
}

export function revokedError(peer: { nodeId: NodeId; name: string }): HandshakeError {
  return new HandshakeError('OVL_PEER_REVOKED', `node ${peer.nodeId} ("${peer.name}") is revoked`)
}

/** Messages a session holds before its owner takes it up: far more than arrive in one chunk. */
const MAX_HELD_MESSAGES = 4096

/** How long a closing session waits for the peer to finish before it is destroyed. */
const CLOSE_GRACE_MS = 2_000

export class Session<M> extends EventEmitter<SessionEvents<M>> {
  readonly role: TlsRole
  readonly remote: RemoteAddress
  readonly peer: PeerCertificateInfo
  /**
   * Names this TLS session on both ends (a hash of the exporter value): lets both
   * sides make the same choice between two sessions to one peer.
   */
  readonly id: string
  /** Keys of this session's path probes, derived from the TLS exporter. */
  readonly probeKeys: ProbeKeys
  /** Set when this side has closed the session or received a CLOSE frame. */
  closeReason: OverlayError | null = null
  readonly #channel: SecureChannel
  readonly #codec: MessageCodec<M>
  /** The codec's write, as FrameWriter.encode() calls it (made once, not per message). */
  readonly #writeMessage: (w: BinaryWriter, message: M) => number
  readonly #revocation: RevocationList
  readonly #decoder: FrameDecoder
  readonly #writer: FrameWriter
  readonly #exporter: Buffer
  readonly #ready: Promise<void>
  #resolveReady!: () => void
  #rejectReady!: (err: OverlayError) => void
  #state: SessionState = 'binding'
  #peerVerified = false
  #peerAccepted = false
  #graceTimer: NodeJS.Timeout | null = null
  /** This side has sent its END or CLOSE frame (or is past sending one). */
  #ending = false
  /** The peer has sent its END frame. */
  #peerEnded = false
  /** Messages received before deliver(); null once delivering. */
  #held: M[] | null = []
  #framesIn = 0
  #framesOut = 0

  constructor(init: SessionInit<M>) {
    super()
    this.role = init.role
    this.remote = init.remote
    this.#channel = init.channel
    this.#codec = init.codec
    const codec = init.codec
    this.#writeMessage = (w, message) => codec.write(w, message)
    this.#revocation = init.revocation
    this.#decoder = new FrameDecoder(init.maxFrameBytes)
    this.#writer = new FrameWriter(init.channel)
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    this.#ready.catch(() => {}) // observed through ready(); never an unhandled rejection

    const channel = init.channel
    channel.on('data', (chunk: Buffer) => this.#onData(chunk))
    channel.on('end', () => this.#onEnd())
    channel.on('error', (err) => this.#onChannelError(err))
    channel.on('close', () => {
      if (this.#graceTimer) clearTimeout(this.#graceTimer)
      this.#graceTimer = null
      this.#finish(this.#cutShort() ? truncatedError() : null)
    })
    channel.on('drain', () => this.emit('drain'))

    const peerRole: TlsRole = init.role === 'client' ? 'server' : 'client'
    let peer: PeerCertificateInfo
    try {
      peer = checkPeerCertificate(init.handshake.peerCertificate, init.tls.caCert, peerRole)
      if (init.revocation.has(peer.nodeId)) throw revokedError(peer)
      if (peer.nodeId === init.identity.nodeId) throw new HandshakeError('OVL_SELF_CONNECT', 'connected to itself')
    } catch (err) {
      this.peer = { nodeId: '', name: '', fingerprint: '' }
      this.#exporter = Buffer.alloc(0)
      this.id = ''
      this.probeKeys = { tag: '', send: Buffer.alloc(0), receive: Buffer.alloc(0) }
      this.fail(err as OverlayError)
      channel.start()
      return
    }
    this.peer = peer
    this.#exporter = init.handshake.exporter
    this.id = crypto.createHash('sha256').update('p2p-overlay session id').update(this.#exporter).digest('hex').slice(0, 16)
    this.probeKeys = deriveProbeKeys(this.#exporter, init.role)
    this.#sendFrame(SessionFrame.Auth, encodeBindingProof(signBinding(init.identity, init.role, this.#exporter)))
    channel.start()
  }

  get state(): SessionState {
    return this.#state
  }

  get peerId(): NodeId {
    return this.peer.nodeId
  }

  get stats(): { framesIn: number; framesOut: number; bytesIn: number; bytesOut: number } {
    return { framesIn: this.#framesIn, framesOut: this.#framesOut, bytesIn: this.#channel.bytesRead, bytesOut: this.#channel.bytesWritten }
  }

  /**
   * Starts delivering 'message' events. Messages that arrive between 'up' and
   * this call (the peer may send right after the same data chunk that made the
   * session up) are held, and emitted now, in order.
   */
  deliver(): void {
    const held = this.#held
    if (held === null) return
    this.#held = null
    for (const message of held) {
      if (this.#state === 'closed' || this.closeReason !== null) return
      this.emit('message', message)
    }
  }

  /** Resolves when the session is up; rejects with the reason if it closes first. */
  ready(): Promise<void> {
    return this.#ready
  }

  /** Sends a message. Returns false when the caller should wait for 'drain'. */
  send(message: M): boolean {
    if (!this.writable) throw new ClosedError('OVL_SESSION_CLOSED', `session with ${this.peer.name || this.remote.host} is ${this.#state === 'up' ? 'closing' : this.#state}`)
    const ok = this.#writer.encode(this.#writeMessage, message)
    this.#framesOut++
    return ok
  }

  /** Up, and neither side has started to close it: send() will take messages. */
  get writable(): boolean {
    return this.#state === 'up' && this.closeReason === null && this.#graceTimer === null
  }

  /**
   * Orderly close: flushes what was sent, ends the stream. With `reason`, the 'close'
   * event carries it, and unless `notify` is false the peer is told in a CLOSE frame.
   */
  close(reason?: OverlayError, options: { notify?: boolean } = {}): void {
    if (this.#state === 'closed' || this.closeReason !== null || this.#graceTimer !== null) return
    if (reason) this.closeReason = reason
    if (reason && options.notify !== false) {
      this.#ending = true
      this.#writer.write(SessionFrame.Close, encodeClose(reason))
    } else {
      this.#sendEnd()
    }
    this.#writer.flush()
    this.#channel.end()
    this.#graceTimer = setTimeout(() => this.#channel.destroy(), CLOSE_GRACE_MS).unref()
    if (reason) this.#rejectReady(reason)
  }

  /**
   * Closes the session because of `error` (bad input, failed check). It is
   * closed for this node at once; the socket lingers until the CLOSE frame
   * telling the peer why has left (at most CLOSE_GRACE_MS).
   */
  fail(error: OverlayError, options: { notify?: boolean } = {}): void {
    this.close(error, options)
    this.#finish(error, { linger: true })
  }

  /**
   * Closes at once. The peer still gets this side's END frame, not a reason,
   * unless `notify` is false (what a crash looks like: the peer sees the
   * session cut short). The stream lingers to deliver it, unless it is reset
   * under the session (a handshake timeout resets a half-open stream).
   */
  destroy(error?: OverlayError, options: { notify?: boolean } = {}): void {
    if (this.#state !== 'closed' && options.notify !== false) {
      this.#sendEnd()
      this.#writer.flush()
    }
    this.#channel.destroy()
    this.#finish(error ?? null)
  }

  #sendEnd(): void {
    if (this.#ending) return
    this.#ending = true
    this.#writer.write(SessionFrame.End, Buffer.alloc(0))
  }

  /** The peer's stream is over, and the session was up with neither side having ended it by a sealed frame. */
  #cutShort(): boolean {
    return this.#state === 'up' && !this.#ending && !this.#peerEnded && this.closeReason === null
  }

  #sendFrame(type: number, body: Uint8Array): void {
    this.#channel.write(encodeFrame(type, body))
  }

  /**
   * Bad records close the session like bad frames (the peer is told why). Once
   * a reason to close is known (ours, or the peer's CLOSE frame), a stream
   * error while closing is a symptom of that close, not a new cause. A stream
   * error (a reset, a timeout) on a session nobody was ending cuts it short.
   */
  #onChannelError(err: Error): void {
    if (err instanceof ProtocolError && this.closeReason === null) this.fail(err)
    else if (this.closeReason !== null) this.#finish(this.closeReason)
    // Ended by a sealed frame already: a reset now (the END lost, the linger over) changes nothing.
    else if (this.#ending || this.#peerEnded) this.#finish(null)
    else if (this.#cutShort()) this.#finish(truncatedError(err))
    else this.#finish(mapTlsError(err))
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed' || this.closeReason !== null) return
    try {
      this.#decoder.push(chunk, (frame) => this.#onFrame(frame))
    } catch (err) {
      this.fail(err instanceof OverlayError ? err : new ProtocolError('OVL_FRAME_MALFORMED', String(err)))
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#state === 'closed' || this.closeReason !== null) return
    if (this.#peerEnded) throw new ProtocolError('OVL_MESSAGE_UNEXPECTED', "a frame after the peer's END frame")
    this.#framesIn++
    if (frame.type >= FIRST_MESSAGE_TYPE) {
      if (this.#state !== 'up') throw new ProtocolError('OVL_MESSAGE_UNEXPECTED', 'message before the session was authenticated')
      const message = this.#codec.decode(frame.type, frame.body)
      if (this.#held === null) this.emit('message', message)
      else if (this.#held.push(message) > MAX_HELD_MESSAGES) throw new ProtocolError('OVL_MESSAGE_UNEXPECTED', `more than ${MAX_HELD_MESSAGES} messages before the session was taken up`)
      return
    }
    switch (frame.type as SessionFrame) {
      case SessionFrame.Auth: {
        if (this.#peerVerified) throw new ProtocolError('OVL_MESSAGE_UNEXPECTED', 'second binding proof')
        const peerRole: TlsRole = this.role === 'client' ? 'server' : 'client'
        verifyBinding(decodeBindingProof(frame.body), this.peer.nodeId, peerRole, this.#exporter)
        this.#peerVerified = true
        this.#sendFrame(SessionFrame.AuthOk, Buffer.alloc(0))
        break
      }
      case SessionFrame.AuthOk:
        if (this.#peerAccepted || frame.body.length !== 0) throw new ProtocolError('OVL_MESSAGE_UNEXPECTED', 'unexpected binding acknowledgement')
        this.#peerAccepted = true
        break
      case SessionFrame.End:
        if (frame.body.length !== 0) throw new ProtocolError('OVL_FRAME_MALFORMED', 'an END frame with a body')
        this.#peerEnded = true
        return
      case SessionFrame.Close:
        this.closeReason = decodeClose(frame.body)
        this.#rejectReady(this.closeReason)
        // What this side queued before the CLOSE (answers in the same chunk) leaves before the end, not after it.
        this.#writer.flush()
        this.#channel.end()
        this.#graceTimer = setTimeout(() => this.#channel.destroy(), CLOSE_GRACE_MS).unref()
        return
      default:
        throw new ProtocolError('OVL_MESSAGE_UNKNOWN_TYPE', `unknown session frame type 0x${frame.type.toString(16)}`)
    }
    if (this.#state === 'binding' && this.#peerVerified && this.#peerAccepted) {
      // The list may have changed while the handshake was in flight.
      if (this.#revocation.has(this.peer.nodeId)) throw revokedError(this.peer)
      this.#state = 'up'
      this.#resolveReady()
      this.emit('up')
    }
  }

  #onEnd(): void {
    // The peer has stopped sending: what this side queued (an answer to its last message) still goes out.
    if (this.#state !== 'closed') this.#writer.flush()
    try {
      this.#decoder.end()
    } catch (err) {
      this.#finish(err as OverlayError)
      return
    }
    // Told why, in a CLOSE frame, in case the END was not the peer's (it can still read).
    if (this.#cutShort()) this.fail(truncatedError())
  }

  #finish(error: OverlayError | null, options: { linger?: boolean } = {}): void {
    if (this.#state === 'closed') return
    const wasBinding = this.#state === 'binding'
    this.#state = 'closed'
    if (!options.linger) {
      if (this.#graceTimer) clearTimeout(this.#graceTimer)
      this.#graceTimer = null
      this.#channel.destroy()
    }
    const reason = error ?? this.closeReason
    if (wasBinding) this.#rejectReady(reason ?? new ClosedError('OVL_SESSION_CLOSED', 'closed before the session was authenticated'))
    this.emit('close', reason)
  }
}
