/**
 * Layer contenders for the diagnostics: plain TCP, and UDX streams bare, in the
 * product's UdxDuplex adapter, and with node:tls over that adapter (configured
 * as src/session/handshake.ts configures sessions, without framing or binding).
 */
import net from 'node:net'
import tls from 'node:tls'
import UDX, { type UDXSocket } from 'udx-native'
import { ALPN_PROTOCOL } from '../src/constants.js'
import { TlsConfig } from '../src/session/tls-context.js'
import { UdxDuplex } from '../src/transport/stream-adapter.js'
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

/** Two UDX sockets in one UDX instance; each pair is two streams connected to each other. */
export type UdxMode = 'bare' | 'duplex' | 'tls'

export class UdxContender extends PairContender {
  readonly label: string
  readonly #udx = new UDX()
  readonly #a: UDXSocket
  readonly #b: UDXSocket
  readonly #mode: 'bare' | 'duplex' | 'tls'
  readonly #clientTls: TlsConfig | null
  readonly #serverTls: TlsConfig | null
  #nextId = 1

  constructor(mode: 'bare' | 'duplex' | 'tls', fixture: Fixture) {
    super()
    this.#mode = mode
    this.label = { bare: 'udx', duplex: 'udx+duplex', tls: 'udx+duplex+tls' }[mode]
    this.#a = this.#udx.createSocket()
    this.#b = this.#udx.createSocket()
    this.#a.bind(0, '127.0.0.1')
    this.#b.bind(0, '127.0.0.1')
    this.#clientTls = mode === 'tls' ? new TlsConfig(fixture.client.credentials) : null
    this.#serverTls = mode === 'tls' ? new TlsConfig(fixture.server.credentials) : null
  }

  protected async pair(): Promise<[ByteStream, ByteStream]> {
    const ida = this.#nextId++
    const idb = this.#nextId++
    const sa = this.#udx.createStream(ida)
    const sb = this.#udx.createStream(idb)
    sa.connect(this.#a, idb, this.#b.address().port, '127.0.0.1')
    sb.connect(this.#b, ida, this.#a.address().port, '127.0.0.1')
    if (this.#mode === 'bare') return [sa as unknown as ByteStream, sb as unknown as ByteStream]
    const da = new UdxDuplex(sa)
    const db = new UdxDuplex(sb)
    if (this.#mode === 'duplex') return [da, db]
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
