/**
 * Plain HTTP requests for the dashboard tests, through node:http so any
 * header can be set or left out (Host included), as a hostile page or
 * process would.
 */
import http from 'node:http'

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface RequestInit {
  port: number
  path: string
  method?: string
  /** Sent as given; Host defaults to 127.0.0.1:PORT. */
  headers?: Record<string, string>
  body?: string | Buffer
}

export function request(init: RequestInit): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { host: `127.0.0.1:${init.port}`, ...init.headers }
    const req = http.request({ host: '127.0.0.1', port: init.port, path: init.path, method: init.method ?? 'GET', headers, setHost: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

/** The stable error code in a refusal's JSON body. */
export function codeOf(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.body) as { error?: { code?: string } }).error?.code
  } catch {
    return undefined
  }
}

/**
 * A live-update client: opens /api/events and collects each event as it
 * arrives; `next(event, filter)` waits for one.
 */
export class EventStream {
  readonly events: Array<{ event: string; data: unknown }> = []
  readonly #waiters = new Set<() => void>()
  readonly response: Promise<http.IncomingMessage>
  #req: http.ClientRequest

  constructor(port: number, headers: Record<string, string>, path = '/api/events') {
    let buffer = ''
    this.#req = http.request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers }, setHost: false })
    this.response = new Promise((resolve, reject) => {
      this.#req.on('response', (res) => {
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buffer += chunk
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const event = /^event: (.*)$/m.exec(block)?.[1]
            const data = /^data: (.*)$/m.exec(block)?.[1]
            if (event !== undefined && data !== undefined) this.events.push({ event, data: JSON.parse(data) as unknown })
            for (const wake of this.#waiters) wake()
          }
        })
        resolve(res)
      })
      this.#req.on('error', reject)
    })
    this.#req.end()
  }

  /** The first `event` (already received or still to come) whose data satisfies `filter`. */
  next<T>(event: string, filter: (data: T) => boolean = () => true, ms = 5_000): Promise<T> {
    const found = (): T | undefined => this.events.find((e) => e.event === event && filter(e.data as T))?.data as T | undefined
    const seen = found()
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake)
        reject(new Error(`no "${event}" event as expected within ${ms} ms (got ${this.events.map((e) => e.event).join(', ')})`))
      }, ms)
      const wake = (): void => {
        const value = found()
        if (value === undefined) return
        clearTimeout(timer)
        this.#waiters.delete(wake)
        resolve(value)
      }
      this.#waiters.add(wake)
    })
  }

  close(): void {
    this.#req.destroy()
  }
}
