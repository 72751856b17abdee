/**
 * What every contender offers the measurements: dial a link (both ends in this
 * process), push payloads through it from the client, have the server echo them
 * or count them. The measurements in session.ts are written once against these
 * interfaces, so the overlay and the baseline go through exactly the same loop.
 */
import type { EventEmitter } from 'node:events'
import { deferred, nextEvent, within, type Deferred } from './wait.js'

/** A payload built once per size: a Chat message for the overlay, a Buffer for byte streams. */
export type Payload = unknown

export interface Link {
  /** Client → server. Returns false when the caller should wait for drained(). */
  send(payload: Payload): boolean
  /** Resolves on the client's next 'drain'; rejects if the link closes first. */
  drained(): Promise<void>
  /** true: the server sends back every payload it receives. false: it only counts. */
  echo: boolean
  /** Payload bytes arriving at the client (the server's echoes). */
  onClientReceive: ((bytes: number) => void) | null
  /** Payload bytes arriving at the server. */
  onServerReceive: ((bytes: number) => void) | null
  /** Closes both ends; resolves when both have closed. */
  close(): Promise<void>
}

export interface Contender {
  readonly side: 'baseline' | 'overlay'
  /** What this is, for tables and logs. */
  readonly label: string
  payload(bytes: number): Payload
  /**
   * Opens a link and resolves once it is authenticated: the span the setup time
   * measures. The server end may still be finishing; sends are safe at once.
   */
  dial(): Promise<Link>
  /** Closes every link and listener. Idempotent. */
  close(): Promise<void>
}

/** Minimal common shape of node:net/tls sockets, node:stream Duplexes and UDX (streamx) streams. */
export interface ByteStream extends EventEmitter {
  write(chunk: Buffer): boolean
  destroy(): void
}

const CLOSE_TIMEOUT_MS = 10_000

/** Resolves when `stream` emits 'close' (at once if `closed` says it already has). */
export function closed(stream: EventEmitter, alreadyClosed: boolean): Promise<void> {
  if (alreadyClosed) return Promise.resolve()
  return new Promise((resolve) => stream.once('close', () => resolve()))
}

/**
 * A link over two connected byte streams. The server's 'data' handler echoes or
 * counts; payload boundaries do not exist on a byte stream, so measurements
 * count bytes.
 */
export class ByteStreamLink implements Link {
  echo = false
  onClientReceive: ((bytes: number) => void) | null = null
  onServerReceive: ((bytes: number) => void) | null = null
  readonly client: ByteStream
  readonly server: ByteStream
  readonly #clientClosed: Promise<void>
  readonly #serverClosed: Promise<void>
  #closing: Promise<void> | null = null
  readonly #onClosed: () => void
  #drain: Deferred<void> | null = null

  /** `onClosed` runs once both ends have closed (the contender forgets the link). */
  constructor(client: ByteStream, server: ByteStream, onClosed: () => void = () => {}) {
    this.client = client
    this.server = server
    this.#onClosed = onClosed
    this.#clientClosed = closed(client, false)
    this.#serverClosed = closed(server, false)
    client.on('data', (chunk: Buffer) => this.onClientReceive?.(chunk.length))
    server.on('data', (chunk: Buffer) => {
      if (this.echo) server.write(chunk)
      this.onServerReceive?.(chunk.length)
    })
    client.on('drain', () => this.#drain?.resolve())
    const onClose = (): void => this.#drain?.reject(new Error('link closed while waiting for drain'))
    client.once('close', onClose)
    server.once('close', onClose)
    // An error closes the stream; the measurement then fails on 'close' with a clear message.
    client.on('error', () => {})
    server.on('error', () => {})
  }

  send(payload: Payload): boolean {
    return this.client.write(payload as Buffer)
  }

  drained(): Promise<void> {
    this.#drain = deferred()
    return this.#drain.promise
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.client.destroy()
    this.server.destroy()
    const both = Promise.all([this.#clientClosed, this.#serverClosed]).then(() => this.#onClosed())
    this.#closing = within(CLOSE_TIMEOUT_MS, both, 'both ends of a link to close')
    return this.#closing
  }
}

/** Waits for an event on a stream that might fail first; re-exported for contenders. */
export { nextEvent }
