/**
 * Live updates to the page as server-sent events (one HTTP response per
 * client that never ends). An event is serialised once and written to every
 * client. Bounded: at most `maxClients` at once, and a client that falls too
 * far behind (a stalled tab) is dropped rather than buffered for. A comment
 * line every `keepaliveMs` keeps idle streams open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { writeHead } from './respond.js'

export interface LiveHubInit {
  maxClients: number
  keepaliveMs: number
  maxBacklogBytes: number
}

export class LiveHub {
  readonly #init: LiveHubInit
  readonly #clients = new Set<ServerResponse>()
  #keepalive: NodeJS.Timeout | null = null
  /** Called for each new client, with a function that sends to it alone (to give it everything at once). */
  onJoin: ((send: (event: string, data: unknown) => void) => void) | null = null

  constructor(init: LiveHubInit) {
    this.#init = init
  }

  get size(): number {
    return this.#clients.size
  }

  /** Takes over the response as an event stream; false when the hub is full (the caller refuses). */
  add(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#clients.size >= this.#init.maxClients) return false
    writeHead(res, 200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write('retry: 1000\n\n')
    this.#clients.add(res)
    const drop = (): void => this.#drop(res)
    req.once('close', drop)
    res.once('close', drop)
    this.onJoin?.((event, data) => this.#write(res, frame(event, data)))
    this.#keepalive ??= setInterval(() => this.#broadcast(': keepalive\n\n'), this.#init.keepaliveMs).unref()
    return true
  }

  send(event: string, data: unknown): void {
    if (this.#clients.size === 0) return
    this.#broadcast(frame(event, data))
  }

  close(): void {
    for (const res of [...this.#clients]) {
      this.#clients.delete(res)
      res.end()
    }
    this.#stopKeepalive()
  }

  #broadcast(text: string): void {
    for (const res of [...this.#clients]) this.#write(res, text)
  }

  #write(res: ServerResponse, text: string): void {
    if (res.writableLength > this.#init.maxBacklogBytes) {
      this.#drop(res)
      res.destroy()
      return
    }
    res.write(text)
  }

  #drop(res: ServerResponse): void {
    if (!this.#clients.delete(res)) return
    if (this.#clients.size === 0) this.#stopKeepalive()
  }

  #stopKeepalive(): void {
    if (this.#keepalive !== null) clearInterval(this.#keepalive)
    this.#keepalive = null
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
