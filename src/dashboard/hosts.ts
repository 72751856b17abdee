/**
 * Which Host headers the dashboard answers: its own address and port, the
 * loopback names when it listens on loopback, the machine's own addresses when
 * it listens on all of them, and the names the operator added. Anything else
 * is refused: a web page whose DNS name is re-pointed at 127.0.0.1 (DNS
 * rebinding) still sends its own name as Host, so it never gets an answer.
 */
import os from 'node:os'

export interface BoundAddress {
  host: string
  port: number
}

export class HostPolicy {
  readonly #allowed = new Set<string>()
  /** The host to put in the printed URL. */
  readonly urlHost: string

  constructor(bound: BoundAddress, extra: readonly string[] = []) {
    const { host, port } = bound
    const wildcard = host === '0.0.0.0'
    // 0.0.0.0 itself is no address to browse to (browsers now refuse it): only the real ones.
    const names: string[] = wildcard ? [] : [host]
    if (wildcard || host.startsWith('127.')) names.push('localhost', '127.0.0.1')
    if (wildcard) names.push(...interfaceAddresses())
    for (const name of names) this.#add(name, port)
    for (const entry of extra) {
      if (/:\d+$/.test(entry)) this.#allowed.add(entry.toLowerCase())
      else this.#add(entry, port)
    }
    this.urlHost = wildcard ? '127.0.0.1' : host
  }

  allows(hostHeader: string | undefined): boolean {
    return hostHeader !== undefined && this.#allowed.has(hostHeader.toLowerCase())
  }

  /** The origin a browser sends from the page at `hostHeader` (already allowed). */
  originOf(hostHeader: string): string {
    return `http://${hostHeader.toLowerCase()}`
  }

  #add(name: string, port: number): void {
    const lower = name.toLowerCase()
    this.#allowed.add(`${lower}:${port}`)
    // A browser leaves the default port out of Host.
    if (port === 80) this.#allowed.add(lower)
  }
}

function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4')
    .map((a) => a.address)
}
