/**
 * A rogue peer the test fully controls, built from the real lower layers:
 *
 *   RogueEndpoint   UdpSocket + ConnectionSetup: a connected UDX stream, dialed or accepted
 *   openRogueTls()  UdxPort + SecureChannel + node:tls with the rogue's own
 *                   SecureContext (it checks nothing unless told to)
 *   RogueChannel    frames by hand: encodeFrame, SessionFrame, the binding primitives
 *   RawUdp          a bare UDP socket for hand-made datagrams, counting what comes back
 *
 * Nothing here is a mock: the honest side runs its real code against real sockets
 * on loopback, and the rogue breaks exactly one rule at a time.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { TestContext } from 'node:test'
import tls from 'node:tls'
import type { UDXStream, UdxAddress } from 'udx-native'
import { ALPN_PROTOCOL } from '../../src/constants.js'
import { OverlayError, type ErrorCode } from '../../src/errors.js'
import type { Identity } from '../../src/identity/identity.js'
import { MessageType, type Message } from '../../src/messaging/messages.js'
import type { OverlayNode, OverlaySession } from '../../src/node/node.js'
import { decodeBindingProof, encodeBindingProof, signBinding, type BindingProof, type TlsRole } from '../../src/session/binding.js'
import { encodeFrame, FrameDecoder, type Frame } from '../../src/session/framing.js'
import { RecordKind } from '../../src/session/records.js'
import { SecureChannel, type HandshakeResult } from '../../src/session/secure-channel.js'
import { decodeClose, SessionFrame } from '../../src/session/session-frames.js'
import type { TlsCredentials } from '../../src/session/tls-context.js'
import { mapTlsError } from '../../src/session/tls-errors.js'
import type { Connection, RemoteAddress } from '../../src/transport/connection.js'
import { ConnectionSetup } from '../../src/transport/connection-setup.js'
import { UdxPort } from '../../src/transport/udx-port.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'
import { isChat, startNode } from './nodes.js'
import type { TestCredentials } from './pki.js'
import { nextEvent, within } from './wait.js'

/** Long enough that the rogue's own half-open timer never fires during a test. */
const ROGUE_HANDSHAKE_TIMEOUT_MS = 60_000

// --- the UDP side -------------------------------------------------------------

/** A UDP socket with connection setup: dials and accepts UDX streams, does nothing else on its own. */
export class RogueEndpoint {
  readonly socket = new UdpSocket()
  readonly setup: ConnectionSetup
  readonly #queue: Connection[] = []
  readonly #events = new EventEmitter<{ inbound: [] }>()

  private constructor(dialTimeoutMs: number) {
    this.setup = new ConnectionSetup({
      socket: this.socket,
      maxHalfOpen: 1024,
      maxHalfOpenPerSource: 1024,
      handshakeTimeoutMs: ROGUE_HANDSHAKE_TIMEOUT_MS,
      dialTimeoutMs,
      onInbound: (connection) => {
        this.#queue.push(connection)
        this.#events.emit('inbound')
      },
    })
  }

  /** Binds to host (default 127.0.0.1), port 0; closed after the test. */
  static start(t: TestContext, options: { host?: string; dialTimeoutMs?: number } = {}): RogueEndpoint {
    const rogue = new RogueEndpoint(options.dialTimeoutMs ?? 5_000)
    rogue.socket.bind(0, options.host ?? '127.0.0.1')
    t.after(() => rogue.close())
    return rogue
  }

  get address(): RemoteAddress {
    const { host, port } = this.socket.address()
    return { host, port }
  }

  dial(remote: RemoteAddress): Promise<Connection> {
    return this.setup.dial(remote)
  }

  /** The next connection an honest node opened to the rogue. */
  async accept(ms = 5_000): Promise<Connection> {
    if (this.#queue.length === 0) await nextEvent(this.#events, 'inbound', () => true, ms)
    return this.#queue.shift() as Connection
  }

  close(): Promise<void> {
    this.setup.close()
    return this.socket.close()
  }
}

/**
 * The connection's bare UDX stream, for bytes that are not TLS. Resets from the
 * honest side are expected: they are swallowed here, not thrown after the test.
 */
export function bareStream(connection: Connection): UDXStream {
  connection.established()
  connection.stream.on('error', () => {})
  return connection.stream
}

// --- TLS and frames -----------------------------------------------------------

export interface RogueTlsInit {
  /** The certificate and key the rogue presents (none if left out); `ca` is what it trusts if `verifyPeer`. */
  credentials: Partial<TlsCredentials>
  /** Default TLSv1.3 both; set both to TLSv1.2 for a peer that only speaks 1.2. */
  minVersion?: tls.SecureVersion
  maxVersion?: tls.SecureVersion
  /** Check the honest peer's certificate (default false: the rogue talks to anybody). */
  verifyPeer?: boolean
  /** ALPN protocols offered (default the overlay's). */
  alpn?: string[]
  /** Rewrites each TLS record the rogue sends (whole, header included; `index` counts them from 0). */
  tamperTls?: (record: Buffer, index: number) => Buffer
  /** Runs once the rogue's side of the handshake is done, before it switches to sealed records. */
  beforeSecure?: (socket: tls.TLSSocket) => void | Promise<void>
}

/**
 * Runs TLS on a connection as `role`, in the overlay's session records (the
 * real SecureChannel), and resolves once the rogue's side of the handshake is
 * done. Rejects with node:tls's own error (map it with mapTlsError).
 */
export async function openRogueTls(connection: Connection, role: TlsRole, init: RogueTlsInit): Promise<RogueChannel> {
  connection.established() // the rogue's own half-open timer must not interfere
  const stream = new UdxPort(connection.stream)
  const tamper = init.tamperTls
  if (tamper) {
    const write = stream.write.bind(stream) as (chunk: Buffer) => boolean
    let index = 0
    stream.write = ((chunk: Buffer) => write(chunk[0] === RecordKind.Tls ? tamper(chunk, index++) : chunk)) as typeof stream.write
  }
  const context = tls.createSecureContext({
    ca: init.credentials.ca,
    cert: init.credentials.cert,
    key: init.credentials.key,
    minVersion: init.minVersion ?? 'TLSv1.3',
    maxVersion: init.maxVersion ?? 'TLSv1.3',
  })
  const verify = init.verifyPeer ?? false
  const ALPNProtocols = init.alpn ?? [ALPN_PROTOCOL]
  const secure = new SecureChannel(stream, role, (transport) =>
    role === 'client'
      ? tls.connect({ socket: transport, secureContext: context, ALPNProtocols, rejectUnauthorized: verify, checkServerIdentity: () => undefined })
      : new tls.TLSSocket(transport, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: verify, ALPNProtocols }),
  )
  const socket = secure.tls
  await new Promise<void>((resolve, reject) => {
    const secureEvent = role === 'client' ? 'secureConnect' : 'secure'
    const onSecure = (): void => {
      socket.off('error', onError)
      socket.off('close', onClose)
      resolve()
    }
    const onError = (err: Error): void => {
      socket.off(secureEvent, onSecure)
      socket.off('close', onClose)
      socket.destroy()
      reject(err)
    }
    const onClose = (): void => {
      socket.off(secureEvent, onSecure)
      socket.off('error', onError)
      reject(new Error('the connection closed during the TLS handshake'))
    }
    socket.once(secureEvent, onSecure)
    socket.once('error', onError)
    socket.once('close', onClose)
  })
  const alpnProtocol = socket.alpnProtocol
  await init.beforeSecure?.(socket)
  return new RogueChannel(secure, stream, secure.secure(), alpnProtocol)
}

/** What the rogue's TLS handshake failure means in our codes (origin 'remote' when the honest side sent an alert). */
export async function rogueTlsFailure(opening: Promise<RogueChannel>): Promise<OverlayError> {
  try {
    const channel = await opening
    channel.destroy()
  } catch (err) {
    return mapTlsError(err)
  }
  throw new assert.AssertionError({ message: 'the rogue TLS handshake was expected to fail, but it completed' })
}

/** A session channel the rogue speaks frames on by hand (sealed as an honest peer seals them). */
export class RogueChannel extends EventEmitter<{ frame: [frame: Frame] }> {
  readonly channel: SecureChannel
  /** The stream under the records: for bytes the rogue writes around the record layer. */
  readonly stream: UdxPort
  readonly role: TlsRole
  readonly alpnProtocol: string | false | null
  /** Every frame received, in order. */
  readonly frames: Frame[] = []
  /** A TLS or record error after the handshake, if any. */
  error: Error | null = null
  /** Resolves when the stream has closed. */
  readonly closed: Promise<void>
  readonly #decoder = new FrameDecoder(0xffffffff)
  readonly #handshake: HandshakeResult

  constructor(channel: SecureChannel, stream: UdxPort, handshake: HandshakeResult, alpnProtocol: string | false | null) {
    super()
    this.channel = channel
    this.stream = stream
    this.role = channel.role
    this.alpnProtocol = alpnProtocol
    this.#handshake = handshake
    channel.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk, (frame) => {
          const copy = { type: frame.type, body: Buffer.from(frame.body) }
          this.frames.push(copy)
          this.emit('frame', copy)
        })
      } catch (err) {
        // The honest side sent something the rogue cannot parse: record it, the test will see it.
        this.error = err as Error
      }
    })
    channel.on('error', (err) => {
      this.error = err
    })
    this.closed = new Promise((resolve) => {
      channel.once('close', () => resolve())
    })
    channel.start()
  }

  /** RFC 9266 exporter value of this TLS session. */
  exporter(): Buffer {
    return this.#handshake.exporter
  }

  /** A binding proof for this session, signed by `identity` in the rogue's role. */
  proof(identity: Identity): BindingProof {
    return signBinding(identity, this.role, this.exporter())
  }

  /** Bytes as session plaintext: sealed, so they reach the honest side's frame decoder. */
  sendRaw(bytes: Uint8Array): void {
    this.channel.write(bytes)
  }

  sendFrame(type: number, body: Uint8Array = Buffer.alloc(0)): void {
    this.channel.write(encodeFrame(type, body))
  }

  sendAuth(proof: BindingProof): void {
    this.sendFrame(SessionFrame.Auth, encodeBindingProof(proof))
  }

  /** The first frame of `type` received (already, or within `ms`). */
  async frame(type: number, ms = 5_000): Promise<Frame> {
    const seen = this.frames.find((frame) => frame.type === type)
    if (seen) return seen
    const [frame] = await nextEvent<[Frame]>(this, 'frame', (f) => f.type === type, ms)
    return frame
  }

  /** The reason in a CLOSE frame received so far, or null if none arrived. */
  receivedClose(): OverlayError | null {
    const frame = this.frames.find((f) => f.type === SessionFrame.Close)
    return frame ? decodeClose(frame.body) : null
  }

  /** The honest peer's binding proof, as received. */
  async peerProof(ms = 5_000): Promise<BindingProof> {
    return decodeBindingProof((await this.frame(SessionFrame.Auth, ms)).body)
  }

  /**
   * Completes the binding exchange honestly: sends AUTH signed by `identity`,
   * waits for the peer's AUTH and AUTH_OK, acknowledges. The session is then up
   * on the honest side, which is where most frame attacks start.
   */
  async authenticate(identity: Identity, ms = 5_000): Promise<BindingProof> {
    this.sendAuth(this.proof(identity))
    const peer = await this.peerProof(ms)
    await this.frame(SessionFrame.AuthOk, ms)
    this.sendFrame(SessionFrame.AuthOk)
    return peer
  }

  /** Resolves when the stream closes; fails the test if that takes longer than `ms`. */
  async waitClosed(ms = 5_000): Promise<void> {
    await within(ms, this.closed, 'the rogue session stream to close')
  }

  end(): void {
    this.channel.end()
  }

  destroy(): void {
    this.channel.destroy()
  }
}

/** A rogue holding an authenticated session with `node` (it speaks frames by hand from here on). */
export async function authenticatedRogue(t: TestContext, node: OverlayNode, member: TestCredentials): Promise<{ channel: RogueChannel; session: OverlaySession }> {
  const rogue = RogueEndpoint.start(t)
  const up = nextEvent<[OverlaySession]>(node, 'session:up', (s) => s.peerId === member.identity.nodeId)
  const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
  await channel.authenticate(member.identity)
  const [session] = await up
  return { channel, session }
}

/** Dials `remote` from the rogue endpoint and runs TLS as the client. */
export async function rogueDial(rogue: RogueEndpoint, remote: RemoteAddress, init: RogueTlsInit): Promise<RogueChannel> {
  const connection = await rogue.dial(remote)
  return openRogueTls(connection, 'client', init)
}

// --- what the rogue is told ------------------------------------------------------

/** A subtest that checks what the far end was told by a CLOSE frame. */
export function closeCheck(t: TestContext, name: string, check: () => void): Promise<void> {
  return t.test(name, check)
}

/** A subtest that checks what the far end was told by a TLS alert. */
export function alertCheck(t: TestContext, name: string, check: () => void): Promise<void> {
  return t.test(name, check)
}

/** Asserts `error` is an OverlayError with `code`, judged by this side (origin 'local'). */
export function assertLocalCode(error: unknown, code: ErrorCode): void {
  assert.ok(error instanceof OverlayError, `expected an OverlayError with ${code}, got ${String(error)}`)
  assert.equal(error.code, code)
  assert.equal(error.origin, 'local', `${code} should be judged by this side itself`)
}

/** The promise's rejection, which must be an OverlayError; fails the test if the promise resolves. */
export async function rejection(promise: Promise<unknown>): Promise<OverlayError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof OverlayError, `expected an OverlayError, got ${String(err)}`)
    return err
  }
  throw new assert.AssertionError({ message: 'expected a refusal, but the operation succeeded' })
}

/** Asserts `error` is an OverlayError with `code`, judged by the peer (origin 'remote'). */
export function assertRemoteCode(error: unknown, code: ErrorCode): void {
  assert.ok(error instanceof OverlayError, `expected an OverlayError with ${code}, got ${String(error)}`)
  assert.equal(error.code, code)
  assert.equal(error.origin, 'remote')
}

/** Waits for the rogue's connection to close, then checks (as a subtest) that a CLOSE frame told it `code`. */
export async function assertToldByClose(t: TestContext, channel: RogueChannel, code: ErrorCode): Promise<void> {
  await channel.waitClosed()
  await closeCheck(t, `the rogue is told ${code} in a CLOSE frame`, () => {
    const told = channel.receivedClose()
    assert.ok(told, 'no CLOSE frame arrived before the connection closed')
    assertRemoteCode(told, code)
  })
}

// --- raw datagrams ------------------------------------------------------------

export interface Datagram {
  data: Buffer
  from: UdxAddress
}

/**
 * A UDP socket that sends hand-made datagrams and records every datagram that
 * comes back and belongs to no stream (setup replies, anything else), with
 * a count of the bytes it sent. It answers nothing by itself.
 */
export class RawUdp {
  readonly socket = new UdpSocket()
  readonly received: Datagram[] = []
  sentBytes = 0
  readonly #events = new EventEmitter<{ datagram: [Datagram] }>()

  private constructor() {
    this.socket.raw.on('message', (data: Buffer, from: UdxAddress) => {
      const datagram = { data: Buffer.from(data), from }
      this.received.push(datagram)
      this.#events.emit('datagram', datagram)
    })
  }

  static open(t: TestContext, host = '127.0.0.1'): RawUdp {
    const raw = new RawUdp()
    raw.socket.bind(0, host)
    t.after(() => raw.socket.close())
    return raw
  }

  get address(): RemoteAddress {
    const { host, port } = this.socket.address()
    return { host, port }
  }

  send(data: Uint8Array, to: RemoteAddress): void {
    this.sentBytes += data.length
    this.socket.send(Buffer.from(data), to.port, to.host)
  }

  /** The next datagram (from now on) that satisfies `filter`. */
  async next(filter: (datagram: Datagram) => boolean = () => true, ms = 5_000): Promise<Datagram> {
    const [datagram] = await nextEvent<[Datagram]>(this.#events, 'datagram', filter, ms)
    return datagram
  }

  /** Calls `listener` for every datagram received from now on; returns a function that stops it. */
  onDatagram(listener: (datagram: Datagram) => void): () => void {
    this.#events.on('datagram', listener)
    return () => this.#events.off('datagram', listener)
  }
}

// --- proof that an honest node still serves -------------------------------------

/**
 * Starts a fresh honest node with `probe` credentials, opens a session to
 * `node`, exchanges a CHAT each way, and stops the probe. Run after an attack
 * to show the attacked node kept serving.
 */
export async function assertServes(t: TestContext, node: OverlayNode, probe: TestCredentials, options: { host?: string } = {}): Promise<void> {
  const prober = await startNode(t, { ...probe, host: options.host ?? '127.0.0.1' })
  try {
    const up = nextEvent<[OverlaySession]>(node, 'session:up', (s) => s.peerId === prober.nodeId)
    const session = await prober.connect(node.address)
    const [atNode] = await up
    const toNode = nextEvent<[Message, OverlaySession]>(node, 'message', (m, s) => isChat(m) && s.peerId === prober.nodeId)
    session.send({ type: MessageType.Chat, id: 0, text: 'still serving?' })
    assert.deepEqual((await toNode)[0], { type: MessageType.Chat, id: 0, text: 'still serving?' })
    const toProbe = nextEvent<[Message]>(prober, 'message', isChat)
    atNode.send({ type: MessageType.Chat, id: 0, text: 'yes' })
    assert.deepEqual((await toProbe)[0], { type: MessageType.Chat, id: 0, text: 'yes' })
  } finally {
    await prober.stop()
  }
}

/** The next handshake failure `node` reports (its own verdict, with its code). */
export async function nextHandshakeFailure(node: OverlayNode, ms = 5_000): Promise<OverlayError> {
  const [failure] = await nextEvent<[{ error: OverlayError }]>(node, 'handshake:failed', () => true, ms)
  return failure.error
}

// --- deterministic "random" input ----------------------------------------------

/** A seeded generator (mulberry32): fuzz input that is the same on every run, so a failure reproduces. */
export class SeededRandom {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let x = this.#state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return (x ^ (x >>> 14)) >>> 0
  }

  /** An integer in [0, max). */
  int(max: number): number {
    return this.next() % max
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff
    return out
  }
}
