/**
 * Layer contenders for the diagnostics: plain TCP, and UDX streams bare, in the
 * product's UdxPort, with node:tls to the end over them (configured as
 * src/session/handshake.ts configures sessions, without framing or binding:
 * the "UDX + node:tls, bare" reference, and how sessions carried their
 * data before sealed records), and with Hyperswarm's secret-stream over them
 * (the "Hyperswarm stack": a Noise XX handshake on Ed25519 keys, then
 * libsodium's secretstream, one message per write), measured in the same run.
 */
import net from 'node:net'
import { Duplex } from 'node:stream'
import tls from 'node:tls'
import SecretStream, { type KeyPair } from '@hyperswarm/secret-stream'
import UDX, { type UDXSocket } from 'udx-native'
import { ALPN_PROTOCOL } from '../src/constants.js'
import { TlsConfig } from '../src/session/tls-context.js'
import { UdxPort } from '../src/transport/udx-port.js'
import type { Fixture } from './fixture.js'
import { ByteStreamLink, type ByteStream, type Contender, type Link, type Payload } from './link.js'
import { deferred, nextEvent, within, type Deferred } from './wait.js'

const HANDSHAKE_TIMEOUT_MS = 10_000

/** A contender over pairs of connected byte streams made by `pair()`. */
export abstract class PairContender implements Contender {
  readonly side = 'baseline' as const
  abstract readonly label: string
  readonly #links = new Set<ByteStreamLink>()

  payload(bytes: number): Payload {
    return Buffer.alloc(bytes, 0x61)
  }

  protected abstract pair(): Promise<[ByteStream, ByteStream]>
  protected abstract shutdown(): Promise<void>

  async dial(): Promise<Link> {
    const [client, server] = await this.pair()
    const link = new ByteStreamLink(client, server, () => this.#links.delete(link))
    this.#links.add(link)
    return link
  }

  async close(): Promise<void> {
    await Promise.all([...this.#links].map((link) => link.close()))
    await this.shutdown()
  }
}

export class TcpContender extends PairContender {
  readonly label = 'tcp'
  readonly #server = net.createServer({ noDelay: true })
  /** Accepted sockets by the client's port, until their dial claims them. */
  readonly #accepted = new Map<number, Deferred<net.Socket>>()

  async start(): Promise<this> {
    this.#server.on('connection', (socket) => this.#slot(socket.remotePort ?? 0).resolve(socket))
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return this
  }

  protected async pair(): Promise<[ByteStream, ByteStream]> {
    const { port } = this.#server.address() as net.AddressInfo
    const client = net.connect({ host: '127.0.0.1', port, noDelay: true })
    await within(HANDSHAKE_TIMEOUT_MS, nextEvent(client, 'connect'), 'TCP connect')
    const localPort = client.localPort ?? 0
    const server = await within(HANDSHAKE_TIMEOUT_MS, this.#slot(localPort).promise, 'a TCP connection to be accepted')
    this.#accepted.delete(localPort)
    return [client, server]
  }

  protected async shutdown(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #slot(port: number): Deferred<net.Socket> {
    let entry = this.#accepted.get(port)
    if (entry === undefined) {
      entry = deferred<net.Socket>()
      this.#accepted.set(port, entry)
    }
    return entry
  }
}

/**
 * node:tls needs a node:stream Duplex under it: this one passes bytes to and
 * from a UdxPort (the product's sessions no longer run node:tls past the
 * handshake, so only this diagnostic needs it).
 */
class PortDuplex extends Duplex {
  readonly #port: UdxPort
  #onDrain: (() => void) | null = null

  constructor(port: UdxPort) {
    super({ allowHalfOpen: false })
    this.#port = port
    port.on('data', (chunk) => this.push(chunk))
    port.on('end', () => this.push(null))
    port.on('drain', () => {
      const onDrain = this.#onDrain
      this.#onDrain = null
      onDrain?.()
    })
    port.on('error', (err) => this.destroy(err))
    port.on('close', () => this.destroy())
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#port.write(chunk)) callback()
    else this.#onDrain = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#port.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#port.destroy(error ?? undefined)
    callback(error)
  }
}

/** Two UDX sockets in one UDX instance; each pair is two streams connected to each other. */
export type UdxMode = 'bare' | 'port' | 'tls' | 'secret-stream'

export class UdxContender extends PairContender {
  readonly label: string
  readonly #udx = new UDX()
  readonly #a: UDXSocket
  readonly #b: UDXSocket
  readonly #mode: UdxMode
  readonly #clientTls: TlsConfig | null
  readonly #serverTls: TlsConfig | null
  /** Each side's static Noise key pair, as a Hyperswarm node has one. */
  readonly #keyPairs: { client: KeyPair; server: KeyPair } | null
  #nextId = 1

  constructor(mode: UdxMode, fixture: Fixture) {
    super()
    this.#mode = mode
    this.label = { bare: 'udx', port: 'udx+port', tls: 'udx+tls', 'secret-stream': 'udx+secret-stream' }[mode]
    this.#a = this.#udx.createSocket()
    this.#b = this.#udx.createSocket()
    this.#a.bind(0, '127.0.0.1')
    this.#b.bind(0, '127.0.0.1')
    this.#clientTls = mode === 'tls' ? new TlsConfig(fixture.client.credentials) : null
    this.#serverTls = mode === 'tls' ? new TlsConfig(fixture.server.credentials) : null
    this.#keyPairs = mode === 'secret-stream' ? { client: SecretStream.keyPair(), server: SecretStream.keyPair() } : null
  }

  protected async pair(): Promise<[ByteStream, ByteStream]> {
    const ida = this.#nextId++
    const idb = this.#nextId++
    const sa = this.#udx.createStream(ida)
    const sb = this.#udx.createStream(idb)
    sa.connect(this.#a, idb, this.#b.address().port, '127.0.0.1')
    sb.connect(this.#b, ida, this.#a.address().port, '127.0.0.1')
    if (this.#mode === 'bare') return [sa as unknown as ByteStream, sb as unknown as ByteStream]
    if (this.#keyPairs !== null) {
      const client = new SecretStream(true, sa, { keyPair: this.#keyPairs.client })
      const server = new SecretStream(false, sb, { keyPair: this.#keyPairs.server })
      const opened = await within(HANDSHAKE_TIMEOUT_MS, Promise.all([client.opened, server.opened]), 'secret-stream over UDX')
      if (!opened.every(Boolean)) throw new Error('a secret-stream closed during its handshake')
      return [client, server]
    }
    const pa = new UdxPort(sa)
    const pb = new UdxPort(sb)
    if (this.#mode === 'port') return [pa, pb]
    const da = new PortDuplex(pa)
    const db = new PortDuplex(pb)
    // As src/session/handshake.ts does it.
    const client = tls.connect({ socket: da, secureContext: this.#clientTls?.context, ALPNProtocols: [ALPN_PROTOCOL], rejectUnauthorized: true, checkServerIdentity: () => undefined })
    const server = new tls.TLSSocket(db, { isServer: true, secureContext: this.#serverTls?.context, requestCert: true, rejectUnauthorized: true, ALPNProtocols: [ALPN_PROTOCOL] })
    const secure = (socket: tls.TLSSocket, event: string): Promise<void> =>
      new Promise((resolve, reject) => {
        socket.once(event, () => resolve())
        socket.once('error', reject)
      })
    await within(HANDSHAKE_TIMEOUT_MS, Promise.all([secure(client, 'secureConnect'), secure(server, 'secure')]), 'TLS over UDX')
    return [client, server]
  }

  protected async shutdown(): Promise<void> {
    for (const stream of [...this.#a.streams, ...this.#b.streams]) stream.destroy()
    await Promise.all([this.#a.close(), this.#b.close()])
  }
}
