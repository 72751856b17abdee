/**
 * A session's channel on its stream: node:tls runs the TLS 1.3 handshake in
 * TLS records; once it is done, both sides seal their bytes in SEALED records
 * under keys exported from that handshake (see records.ts) and let node:tls go.
 *
 * Why not TLS records to the end: node:tls can only drive a stream that is not
 * a native handle through Node's JSStreamSocket, which calls into JavaScript
 * and back for every write and read; on this machine that cost 22-46 us per
 * 64-byte round trip and 100+ KiB per session (docs/benchmarks.md). A
 * sealed record costs one libsodium call each way.
 *
 * The handshake is node:tls's alone (TLS 1.3 only, certificates both ways,
 * the network CA as the only root): this class only carries its bytes. Each
 * side switches to SEALED records when its own handshake is complete, so the
 * peer's first SEALED record may arrive before this side is ready for it: such
 * records wait (at most MAX_EARLY_BYTES) until start().
 *
 * In TLS 1.3 the client completes before the server has judged the client's
 * certificate, and a refusal comes as an alert after that. So the server lets
 * node:tls go as soon as its handshake is complete, the client only when the
 * server's first SEALED record arrives (the server has accepted the
 * handshake); until then TLS records still go to node:tls, and its alert is
 * the channel's error. A TLS record after that is malformed input.
 */
import type crypto from 'node:crypto'
import { EventEmitter } from 'node:events'
import { Duplex } from 'node:stream'
import type tls from 'node:tls'
import { HandshakeError, OverlayError, ProtocolError } from '../errors.js'
import type { ByteStream } from '../transport/udx-port.js'
import { exporterValue, type TlsRole } from './binding.js'
import { mapTlsError } from './tls-errors.js'
import {
  deriveRecordKeys,
  MAX_SEALED_PLAINTEXT_BYTES,
  MAX_TLS_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  RecordKind,
  RecordOpener,
  RecordReader,
  RecordSealer,
  tlsRecord,
} from './records.js'

/** SEALED bytes a peer may send before this side has started: its binding proof and a CLOSE fit many times over. */
const MAX_EARLY_BYTES = 16 * 1024

/**
 * TLS bytes a peer may send in all: a TLS 1.3 handshake with its certificate
 * chain is a few KiB, and after it comes at most an alert or a session ticket.
 * node:tls stops reading what nobody reads, so without this limit a peer that
 * finished its handshake could make the client hold whatever it sent next.
 */
const MAX_TLS_BYTES = 64 * 1024

/** What each TLS record counts against MAX_TLS_BYTES beyond its bytes: holding one costs a Buffer view. */
const TLS_RECORD_COST_BYTES = 256

/** What the TLS handshake established, read before node:tls is let go. */
export interface HandshakeResult {
  peerCertificate: crypto.X509Certificate | undefined
  /** RFC 9266 exporter value: the channel binding's input. */
  exporter: Buffer
}

export interface SecureChannelEvents {
  /** Plaintext, in order. */
  data: [chunk: Buffer]
  end: []
  /** An OverlayError for bad records; the stream's own error otherwise. */
  error: [error: Error]
  close: []
  drain: []
}

export class SecureChannel extends EventEmitter<SecureChannelEvents> {
  readonly role: TlsRole
  #tls: tls.TLSSocket | null
  bytesRead = 0
  bytesWritten = 0
  #secured = false
  readonly #stream: ByteStream
  #pipe: TlsPipe | null
  readonly #reader = new RecordReader()
  #sealer: RecordSealer | null = null
  #opener: RecordOpener | null = null
  #started = false
  #failed = false
  /** node:tls has been let go: TLS records are no longer accepted. */
  #tlsDone = false
  #tlsBytes = 0
  /** Why the handshake failed, if it did before secure(): secure() throws it. */
  #failure: OverlayError | null = null
  /** SEALED records received before start(). */
  #early: Buffer[] = []
  #earlyBytes = 0
  readonly #onRecord = (kind: number, record: Buffer): void => this.#record(kind, record)

  /** `startTls` builds the TLS socket (client or server) on the Duplex it is given. */
  constructor(stream: ByteStream, role: TlsRole, startTls: (transport: Duplex) => tls.TLSSocket) {
    super()
    this.role = role
    this.#stream = stream
    const pipe = new TlsPipe(stream, (record) => this.#send(record))
    this.#pipe = pipe
    stream.on('data', (chunk: Buffer) => this.#onData(chunk))
    stream.on('end', () => this.#onEnd())
    stream.on('error', (err: Error) => (this.#secured ? this.emit('error', err) : this.#pipe?.destroy(err)))
    stream.on('close', () => {
      if (this.#secured) this.#letTlsGo()
      else this.#pipe?.destroy()
      this.emit('close')
    })
    stream.on('drain', () => this.emit('drain'))
    this.#tls = startTls(pipe)
    // Always listened to: node:tls can fail between its 'secure' event and
    // secure() (bad input in the chunk that completed the handshake).
    this.#tls.on('error', (err) => this.#onTlsError(err))
  }

  /** node:tls on this channel's TLS records, until the handshake is done and it is let go. */
  get tls(): tls.TLSSocket {
    if (this.#tls === null) throw new Error('node:tls has been let go: the handshake is over')
    return this.#tls
  }

  /**
   * Call once node:tls reports its handshake complete: derives the record
   * keys and returns what the handshake established. The server lets
   * node:tls go now, the client on the server's first SEALED record.
   */
  secure(): HandshakeResult {
    if (this.#failure !== null) throw this.#failure
    const socket = this.#tls
    if (socket === null || socket.destroyed || this.#stream.destroyed) {
      throw new HandshakeError('OVL_TLS_HANDSHAKE_FAILED', 'the connection closed during the TLS handshake')
    }
    const result = { peerCertificate: socket.getPeerX509Certificate(), exporter: exporterValue(socket) }
    const keys = deriveRecordKeys(socket, this.role)
    this.#sealer = new RecordSealer(keys.send)
    this.#opener = new RecordOpener(keys.receive)
    this.#secured = true
    if (this.role === 'server') this.#letTlsGo()
    return result
  }

  /**
   * Before secure(), node:tls's own listeners (openSession's) report its
   * errors and secure() throws the first; after, until a client lets node:tls
   * go, an alert (the server refused our certificate) is the channel's error.
   */
  #onTlsError(err: Error): void {
    if (this.#tlsDone) return
    if (this.#secured) this.#fail(err)
    else this.#failure ??= mapTlsError(err)
  }

  /** Destroys node:tls without a word on the wire (its state is 100+ KiB a session); the stream stays. */
  #letTlsGo(): void {
    if (this.#tlsDone) return
    this.#tlsDone = true
    // Nothing here may keep node:tls alive: the pipe's listeners are its.
    this.#pipe?.detach()
    this.#pipe?.removeAllListeners()
    this.#pipe = null
    this.#tls?.destroy()
    this.#tls = null
  }

  /** Starts emitting 'data': first what arrived sealed before, then as it arrives. Listen before calling. */
  start(): void {
    if (this.#started) return
    this.#started = true
    const early = this.#early
    this.#early = []
    try {
      for (const record of early) if (!this.#failed) this.#record(RecordKind.Sealed, record)
    } catch (err) {
      this.#fail(err as Error)
    }
  }

  /** Seals and sends; returns false when the caller should wait for 'drain'. */
  write(chunk: Uint8Array): boolean {
    const sealer = this.#sealer
    if (sealer === null) throw new Error('sealed writes before the TLS handshake is complete')
    if (chunk.length <= MAX_SEALED_PLAINTEXT_BYTES) return this.#send(sealer.seal(chunk))
    // Larger than one record (a batch holding a large frame): cut it. Any write that asked to wait counts.
    let ok = true
    for (let offset = 0; offset < chunk.length; offset += MAX_SEALED_PLAINTEXT_BYTES) {
      if (!this.#send(sealer.seal(chunk.subarray(offset, offset + MAX_SEALED_PLAINTEXT_BYTES)))) ok = false
    }
    return ok
  }

  end(): void {
    // While node:tls is attached, its last flight (a client's Finished) may
    // still wait in it: Node's JSStreamSocket completes each write a turn
    // later. Ending a turn later lets it out first, so the peer completes its
    // handshake and reads why we close.
    if (this.#secured && !this.#tlsDone) setImmediate(() => this.#stream.end())
    else this.#stream.end()
  }

  destroy(): void {
    this.#stream.destroy()
  }

  #send(record: Buffer): boolean {
    this.bytesWritten += record.length
    return this.#stream.write(record)
  }

  #onData(chunk: Buffer): void {
    this.bytesRead += chunk.length
    if (this.#failed) return
    try {
      this.#reader.push(chunk, this.#onRecord)
    } catch (err) {
      this.#fail(err as Error)
    }
  }

  #record(kind: number, record: Buffer): void {
    if (this.#failed) return
    if (kind === RecordKind.Tls) {
      if (this.#tlsDone) throw new ProtocolError('OVL_SESSION_RECORD_MALFORMED', 'a TLS record after the TLS handshake was complete')
      this.#tlsBytes += record.length + TLS_RECORD_COST_BYTES
      if (this.#tlsBytes > MAX_TLS_BYTES) throw new ProtocolError('OVL_SESSION_RECORD_MALFORMED', `more than ${MAX_TLS_BYTES} bytes of TLS records`)
      this.#pipe?.push(record.subarray(RECORD_HEADER_BYTES))
      return
    }
    if (!this.#started) {
      this.#earlyBytes += record.length
      if (this.#earlyBytes > MAX_EARLY_BYTES) throw new ProtocolError('OVL_SESSION_RECORD_MALFORMED', `more than ${MAX_EARLY_BYTES} sealed bytes before the TLS handshake was complete`)
      this.#early.push(Buffer.from(record)) // a view of the stream's buffer: keep a copy
      return
    }
    // The record is this channel's: a view of a chunk the stream handed over, or the reader's copy.
    const plaintext = (this.#opener as RecordOpener).openInPlace(record)
    this.#letTlsGo()
    this.emit('data', plaintext)
  }

  #onEnd(): void {
    if (!this.#secured) {
      this.#pipe?.push(null)
      return
    }
    if (this.#reader.bufferedBytes > 0 && !this.#failed) {
      this.#fail(new ProtocolError('OVL_FRAME_TRUNCATED', `the stream ended inside a record (${this.#reader.bufferedBytes} bytes of it)`))
      return
    }
    this.emit('end')
  }

  /** Bad input: before the handshake is complete it fails the handshake; after, it is the channel's error. */
  #fail(err: Error): void {
    if (this.#failed) return
    this.#failed = true
    if (this.#secured) {
      this.emit('error', err)
      return
    }
    const reason = err instanceof OverlayError ? err.message : String(err)
    const failure = new HandshakeError('OVL_TLS_HANDSHAKE_FAILED', `not an overlay session: ${reason}`, { cause: err })
    this.#failure ??= failure
    this.#tls?.destroy(failure)
  }
}

/**
 * The stream node:tls is given: what it writes goes out in TLS records, TLS
 * records received are pushed to it. When node:tls ends or destroys it during
 * the handshake (after an alert), the stream under it ends too, as it would
 * under node:tls directly; once detached, node:tls can no longer touch it.
 */
class TlsPipe extends Duplex {
  readonly #stream: ByteStream
  /** Sends a record on the stream (the channel's, so its byte count includes the handshake). */
  readonly #send: (record: Buffer) => void
  #detached = false

  constructor(stream: ByteStream, send: (record: Buffer) => void) {
    super({ allowHalfOpen: false })
    this.#stream = stream
    this.#send = send
  }

  detach(): void {
    this.#detached = true
  }

  override _read(): void {
    // Pushed by the channel as TLS records arrive: handshake flights, a few KiB.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // After the stream has ended (a client closing at once), node:tls has nothing left to say.
    if (!this.#detached && !this.#stream.writableEnded && !this.#stream.destroyed) {
      for (let offset = 0; offset < chunk.length; offset += MAX_TLS_RECORD_BYTES) {
        this.#send(tlsRecord(chunk.subarray(offset, offset + MAX_TLS_RECORD_BYTES)))
      }
    }
    callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#detached) this.#stream.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#detached) this.#stream.destroy()
    callback(error)
  }
}
