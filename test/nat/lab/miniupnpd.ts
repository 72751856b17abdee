/**
 * A real UPnP IGD: miniupnpd (Debian's miniupnpd-nftables) in a NAT namespace,
 * run in the foreground and stopped by its pid.
 */
import type { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { MINIUPNPD_READY_TIMEOUT_MS } from './constants.js'
import { LabError } from './errors.js'
import type { Netns } from './netns.js'
import { miniupnpdTables } from './nft.js'

export interface MiniupnpdInit {
  netns: Netns
  /** Starts a process in a namespace; the lab kills it at destroy. */
  spawn: (ns: string, argv: readonly string[]) => ChildProcess
  /** A directory for the config and pid file (removed with the lab). */
  dir: string
  wanIf: string
  /** The LAN interface miniupnpd listens on (SSDP, HTTP, NAT-PMP). */
  lanIf: string
  lanCidr: string
  /** Must be a non-reserved address: miniupnpd refuses 198.18/15 and every private range. */
  externalAddress: string
  httpPort: number
}

const LOG_LINES_KEPT = 200
/** The last line miniupnpd prints at start-up, after its HTTP and SSDP sockets are open. */
const READY_LINE = /Listening for NAT-PMP\/PCP traffic/

export class Miniupnpd {
  readonly #child: ChildProcess
  readonly #log: string[] = []
  readonly exited: Promise<void>

  constructor(child: ChildProcess) {
    this.#child = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The last lines miniupnpd logged (it logs every request with -d). */
  log(): string {
    return this.#log.join('\n')
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM')
    await this.exited
  }

  /** Resolves once miniupnpd says it is listening; rejects if it exits first. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onLine = (line: string): void => {
        this.#log.push(line)
        if (this.#log.length > LOG_LINES_KEPT) this.#log.shift()
        if (READY_LINE.test(line)) done(null)
      }
      const onExit = (): void => done(new LabError('LAB_PROBE_FAILED', `miniupnpd exited at start-up:\n${this.log()}`))
      const timer = setTimeout(() => done(new LabError('LAB_TIMEOUT', `miniupnpd not ready after ${timeoutMs} ms:\n${this.log()}`)), timeoutMs)
      const done = (error: LabError | null): void => {
        clearTimeout(timer)
        this.#child.off('exit', onExit)
        if (error) reject(error)
        else resolve()
      }
      for (const stream of [this.#child.stdout, this.#child.stderr]) {
        let buffered = ''
        stream?.setEncoding('utf8')
        stream?.on('data', (chunk: string) => {
          const lines = (buffered + chunk).split('\n')
          buffered = lines.pop() ?? ''
          lines.forEach(onLine)
        })
      }
      this.#child.once('exit', onExit)
    })
  }
}

export function miniupnpdConfig(init: Pick<MiniupnpdInit, 'wanIf' | 'lanIf' | 'lanCidr' | 'externalAddress' | 'httpPort'>): string {
  return [
    `ext_ifname=${init.wanIf}`,
    `ext_ip=${init.externalAddress}`,
    `listening_ip=${init.lanIf}`,
    `http_port=${init.httpPort}`,
    'enable_upnp=yes',
    'enable_natpmp=yes',
    // nat-upnp only knows WANIPConnection:1; without this: "Service not found".
    'force_igd_desc_v1=yes',
    'secure_mode=yes',
    'system_uptime=yes',
    `uuid=${randomUUID()}`,
    `allow 1024-65535 ${init.lanCidr} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n')
}

export async function startMiniupnpd(init: MiniupnpdInit): Promise<Miniupnpd> {
  await init.netns.nft(miniupnpdTables())
  await mkdir(init.dir, { recursive: true })
  const config = path.join(init.dir, 'miniupnpd.conf')
  await writeFile(config, miniupnpdConfig(init))
  // -d: foreground, logs on stderr; -P: its own pid file (the default is shared by every namespace).
  const child = init.spawn(init.netns.name, ['miniupnpd', '-f', config, '-d', '-P', path.join(init.dir, 'miniupnpd.pid')])
  const daemon = new Miniupnpd(child)
  await daemon.ready(MINIUPNPD_READY_TIMEOUT_MS)
  return daemon
}
