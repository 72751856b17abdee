/**
 * The baseline: node:tls over TCP on loopback, configured as the overlay's
 * sessions are: TLS 1.3 only, the network CA as the only trust root, client
 * certificates required and verified on both sides, the same RSA node keys
 * (the secure contexts come from the product's own TlsConfig). Nagle is off
 * on both ends, as UDX has none.
 */
import type net from 'node:net'
import tls from 'node:tls'
import { TlsConfig } from '../src/session/tls-context.js'
import type { Fixture } from './fixture.js'
import { ByteStreamLink, type Contender, type Link, type Payload } from './link.js'
import { deferred, within, type Deferred } from './wait.js'

const DIAL_TIMEOUT_MS = 10_000

export class TlsBaseline implements Contender {
  readonly side = 'baseline' as const
  readonly label = 'node:tls over TCP'
  readonly #server: tls.Server
  readonly #clientTls: TlsConfig
  readonly #links = new Set<ByteStreamLink>()
  /** Server ends not yet claimed by a dial, by the client's local port. */
  readonly #accepted = new Map<number, Deferred<tls.TLSSocket>>()
  #port = 0
  #closing: Promise<void> | null = null

  private constructor(fixture: Fixture) {
    this.#clientTls = new TlsConfig(fixture.client.credentials)
    // tls.Server builds its context from these options (it has no secureContext option):
    // the same values TlsConfig gives createSecureContext; dial() checks the outcome.
    const { ca, cert, key } = fixture.server.credentials
    this.#server = tls.createServer({ ca, cert, key, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true })
    this.#server.on('secureConnection', (socket) => {
      socket.setNoDelay(true)
      const entry = this.#slot(socket.remotePort ?? 0)
      if (!socket.authorized) entry.reject(new Error(`baseline server refused the client certificate: ${String(socket.authorizationError)}`))
      else entry.resolve(socket)
    })
    this.#server.on('tlsClientError', (err) => {
      // The dial that caused it fails on its own; keep the reason visible.
      process.stderr.write(`bench: baseline TLS server: ${err.message}\n`)
    })
  }

  static async start(fixture: Fixture): Promise<TlsBaseline> {
    const baseline = new TlsBaseline(fixture)
    baseline.#server.listen(0, '127.0.0.1')
    await within(5_000, new Promise<void>((resolve, reject) => {
      baseline.#server.once('listening', resolve)
      baseline.#server.once('error', reject)
    }), 'the baseline TLS server to listen')
    baseline.#port = (baseline.#server.address() as net.AddressInfo).port
    return baseline
  }

  payload(bytes: number): Payload {
    return Buffer.alloc(bytes, 0x61)
  }

  /** Resolves when the client has 'secureConnect' (server verified) and the server has verified the client certificate. */
  async dial(): Promise<Link> {
    const client = tls.connect({
      host: '127.0.0.1',
      port: this.#port,
      secureContext: this.#clientTls.context,
      rejectUnauthorized: true,
      // Node names are not host names (as in the overlay): the chain check is what authenticates.
      checkServerIdentity: () => undefined,
    })
    client.setNoDelay(true)
    try {
      const secure = new Promise<void>((resolve, reject) => {
        client.once('secureConnect', () => (client.authorized ? resolve() : reject(new Error(`baseline client refused the server: ${String(client.authorizationError)}`))))
        client.once('error', reject)
        client.once('close', () => reject(new Error('baseline connection closed during the handshake')))
      })
      await within(DIAL_TIMEOUT_MS, secure, 'the baseline TLS handshake (client)')
      const port = client.localPort ?? 0
      const server = await within(DIAL_TIMEOUT_MS, this.#slot(port).promise, 'the baseline TLS handshake (server)')
      this.#accepted.delete(port)
      if (client.getProtocol() !== 'TLSv1.3' || server.getPeerCertificate().subject === undefined) {
        server.destroy()
        throw new Error(`baseline negotiated ${client.getProtocol()} without a client certificate: not the overlay's configuration`)
      }
      const link = new ByteStreamLink(client, server, () => this.#links.delete(link))
      this.#links.add(link)
      return link
    } catch (err) {
      client.destroy()
      throw err
    }
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.#closing = (async () => {
      await Promise.all([...this.#links].map((link) => link.close()))
      for (const pending of this.#accepted.values()) pending.promise.then((socket) => socket.destroy(), () => {})
      await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    })()
    return this.#closing
  }

  #slot(port: number): Deferred<tls.TLSSocket> {
    let entry = this.#accepted.get(port)
    if (entry === undefined) {
      entry = deferred<tls.TLSSocket>()
      entry.promise.catch(() => {})
      this.#accepted.set(port, entry)
    }
    return entry
  }
}
