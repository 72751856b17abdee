/**
 * What an operator's tools do to a node while they watch it: a browser tab
 * subscribed to the dashboard's live updates (a real server-sent event
 * stream, read and parsed), and Prometheus scraping /metrics every second.
 */
import http from 'node:http'
import type { OperatorServices } from '../src/dashboard/operator.js'

const SCRAPE_INTERVAL_MS = 1_000

export class DashboardWatcher {
  events = 0
  scrapes = 0
  readonly #port: number
  readonly #headers: Record<string, string>
  readonly #stream: http.ClientRequest
  readonly #scraper: NodeJS.Timeout
  readonly subscribed: Promise<void>

  constructor(operator: OperatorServices) {
    const dashboard = operator.dashboard
    if (dashboard === null) throw new Error('the dashboard is off')
    this.#port = dashboard.port
    this.#headers = { host: `127.0.0.1:${dashboard.port}`, authorization: `Bearer ${dashboard.token.value}` }
    this.#stream = http.request({ host: '127.0.0.1', port: this.#port, path: '/api/events', headers: this.#headers, setHost: false })
    this.subscribed = new Promise((resolve, reject) => {
      this.#stream.on('response', (res) => {
        let buffer = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buffer += chunk
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1]
            if (data !== undefined) {
              JSON.parse(data)
              this.events++
              if (this.events === 1) resolve()
            }
            buffer = buffer.slice(end + 2)
          }
        })
      })
      this.#stream.on('error', reject)
    })
    this.#stream.end()
    this.#scraper = setInterval(() => this.#scrape(), SCRAPE_INTERVAL_MS)
  }

  #scrape(): void {
    http
      .get({ host: '127.0.0.1', port: this.#port, path: '/metrics', headers: this.#headers, setHost: false }, (res) => {
        res.resume()
        res.on('end', () => this.scrapes++)
      })
      .on('error', () => {})
  }

  close(): void {
    clearInterval(this.#scraper)
    this.#stream.destroy()
  }
}
