/** Drives a UDP probe (udp-probe.ts) running inside a lab namespace. */
import type { ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { LabError } from '../errors.js'
import type { Lab } from '../lab.js'
import type { LabHost } from '../types.js'
import type { Endpoint, ProbeCommand, ProbeEvent } from './protocol.js'
import { within } from '../../../helpers/wait.js'

const PROBE_PROGRAM = fileURLToPath(new URL('./udp-probe.ts', import.meta.url))
/** Start-up includes tsx compiling the probe: generous on a loaded 2-core CI machine. */
const PROBE_START_TIMEOUT_MS = 20_000
const COMMAND_TIMEOUT_MS = 10_000
export const DEFAULT_WAIT_MS = 5_000

export interface ProbeMessage {
  from: Endpoint
  data: string
}

type CommandBody = ProbeCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never
type OkResult = Extract<ProbeEvent, { type: 'result'; ok: true }>

export class UdpProbe {
  readonly host: LabHost
  readonly #child: ChildProcess
  readonly #events = new EventEmitter()
  readonly #pending = new Map<number, { resolve: (result: OkResult) => void; reject: (error: Error) => void }>()
  readonly #stderr: string[] = []
  #nextId = 0
  #exited: LabError | undefined

  private constructor(host: LabHost, child: ChildProcess) {
    this.host = host
    this.#child = child
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.#onLine(line))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.#stderr.push(chunk))
    child.once('exit', (code, signal) => {
      this.#exited = new LabError('LAB_PROBE_FAILED', `probe in ${host.ns} exited (${signal ?? code}): ${this.#stderr.join('').trim()}`)
      for (const { reject } of this.#pending.values()) reject(this.#exited)
      this.#pending.clear()
      this.#events.emit('exit')
    })
  }

  /** Starts a probe on `host`; the lab kills it at destroy. */
  static async start(lab: Lab, host: LabHost): Promise<UdpProbe> {
    const probe = new UdpProbe(host, lab.spawnNode(host, [PROBE_PROGRAM]))
    await probe.#waitFor('ready', PROBE_START_TIMEOUT_MS)
    return probe
  }

  /** The probe process's pid (in the lab namespace; pids are global). */
  get pid(): number | undefined {
    return this.#child.pid
  }

  /** A UDP socket on 0.0.0.0:port (0: any free port). */
  async bind(port = 0): Promise<ProbeSocket> {
    const result = await this.#command({ op: 'bind', port })
    return new ProbeSocket(this, result.socket!, result.port!, this.#events)
  }

  /** A TCP server that accepts and closes; `accepted` resolves with the first connection's source. */
  async tcpListen(): Promise<{ port: number; accepted: (timeoutMs?: number) => Promise<Endpoint> }> {
    const { port } = await this.#command({ op: 'tcp-listen' })
    // Listen now: the connection may be accepted before the caller asks.
    const first = new Promise<Endpoint>((resolve) => {
      const onAccept = (event: Extract<ProbeEvent, { type: 'tcp-accept' }>): void => {
        if (event.port !== port) return
        this.#events.off('tcp-accept', onAccept)
        resolve(event.from)
      }
      this.#events.on('tcp-accept', onAccept)
    })
    return {
      port: port!,
      accepted: (timeoutMs = DEFAULT_WAIT_MS) => within(timeoutMs, first, `a TCP connection on ${this.host.name}:${port}`),
    }
  }

  /** Resolves on connect; rejects (LAB_PROBE_FAILED) on refusal or timeout. */
  async tcpConnect(to: Endpoint, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.#command({ op: 'tcp-connect', to, timeoutMs }, timeoutMs + COMMAND_TIMEOUT_MS)
  }

  /** Ends the probe (closing its stdin); the lab would kill it at destroy anyway. */
  async stop(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise((resolve) => this.#events.once('exit', resolve))
    this.#child.stdin!.end()
    await exited
  }

  /** @internal */
  command(body: CommandBody, timeoutMs = COMMAND_TIMEOUT_MS): Promise<OkResult> {
    return this.#command(body, timeoutMs)
  }

  #command(body: CommandBody, timeoutMs = COMMAND_TIMEOUT_MS): Promise<OkResult> {
    if (this.#exited) return Promise.reject(this.#exited)
    const id = this.#nextId++
    return new Promise<OkResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new LabError('LAB_TIMEOUT', `probe in ${this.host.ns}: no answer to ${body.op} after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer)
          resolve(result)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      this.#child.stdin!.write(JSON.stringify({ ...body, id }) + '\n')
    })
  }

  #onLine(line: string): void {
    let event: ProbeEvent
    try {
      event = JSON.parse(line) as ProbeEvent
    } catch {
      this.#stderr.push(`(stdout) ${line}\n`)
      return
    }
    if (event.type === 'result') {
      const pending = this.#pending.get(event.id)
      this.#pending.delete(event.id)
      if (event.ok) pending?.resolve(event)
      else pending?.reject(new LabError('LAB_PROBE_FAILED', `probe in ${this.host.ns}: ${event.error}`))
      return
    }
    this.#events.emit(event.type, event)
  }

  #waitFor(type: ProbeEvent['type'], timeoutMs: number): Promise<ProbeEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (event: ProbeEvent): void => done(null, event)
      const onExit = (): void => done(this.#exited ?? new LabError('LAB_PROBE_FAILED', 'probe exited'))
      const timer = setTimeout(() => done(new LabError('LAB_TIMEOUT', `probe in ${this.host.ns}: no ${type} after ${timeoutMs} ms; stderr: ${this.#stderr.join('').trim()}`)), timeoutMs)
      const done = (error: Error | null, event?: ProbeEvent): void => {
        clearTimeout(timer)
        this.#events.off(type, onEvent)
        this.#events.off('exit', onExit)
        if (error) reject(error)
        else resolve(event!)
      }
      this.#events.on(type, onEvent)
      this.#events.once('exit', onExit)
      if (this.#exited) onExit()
    })
  }
}

/** One UDP socket of a probe; keeps every datagram it received. */
export class ProbeSocket {
  /** The port it is bound to on its host. */
  readonly port: number
  /** The socket's address on its own host (a LAN address behind a NAT). */
  readonly local: Endpoint
  readonly received: ProbeMessage[] = []
  readonly #probe: UdpProbe
  readonly #id: number
  readonly #arrivals = new EventEmitter()

  constructor(probe: UdpProbe, id: number, port: number, events: EventEmitter) {
    this.#probe = probe
    this.#id = id
    this.port = port
    this.local = { host: probe.host.address, port }
    events.on('message', (event: Extract<ProbeEvent, { type: 'message' }>) => {
      if (event.socket !== this.#id) return
      const message = { from: event.from, data: event.data }
      this.received.push(message)
      this.#arrivals.emit('message', message)
    })
  }

  /** Sends `count` datagrams (default 1), `intervalMs` apart; resolves when all were handed to the kernel. */
  async send(to: Endpoint, data: string, options: { count?: number; intervalMs?: number } = {}): Promise<void> {
    await this.#probe.command({ op: 'send', socket: this.#id, to, data, ...options }, COMMAND_TIMEOUT_MS + (options.count ?? 1) * (options.intervalMs ?? 0))
  }

  /** The first datagram received so far, or from now on, that matches. */
  waitFor(filter: (message: ProbeMessage) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS, what = 'a datagram'): Promise<ProbeMessage> {
    const already = this.received.find(filter)
    if (already) return Promise.resolve(already)
    return new Promise((resolve, reject) => {
      const onMessage = (message: ProbeMessage): void => {
        if (!filter(message)) return
        clearTimeout(timer)
        this.#arrivals.off('message', onMessage)
        resolve(message)
      }
      const timer = setTimeout(() => {
        this.#arrivals.off('message', onMessage)
        reject(new LabError('LAB_TIMEOUT', `${this.#probe.host.name}:${this.port}: no ${what} after ${timeoutMs} ms (got ${this.received.length}: ${describe(this.received)})`))
      }, timeoutMs)
      this.#arrivals.on('message', onMessage)
    })
  }

  /**
   * For negative checks: resolves with [] when no matching datagram arrived
   * (ever, or within `windowMs` from now), or as soon as one does, with it.
   * Proving an absence needs a window; keep it short and send first.
   */
  noneWithin(windowMs: number, filter: (message: ProbeMessage) => boolean = () => true): Promise<ProbeMessage[]> {
    const already = this.received.filter(filter)
    if (already.length > 0) return Promise.resolve(already)
    return new Promise((resolve) => {
      const onMessage = (message: ProbeMessage): void => {
        if (!filter(message)) return
        clearTimeout(timer)
        this.#arrivals.off('message', onMessage)
        resolve([message])
      }
      const timer = setTimeout(() => {
        this.#arrivals.off('message', onMessage)
        resolve([])
      }, windowMs)
      this.#arrivals.on('message', onMessage)
    })
  }

  /** Datagrams received so far with this payload. */
  count(data: string): number {
    return this.received.filter((message) => message.data === data).length
  }

  async close(): Promise<void> {
    await this.#probe.command({ op: 'close', socket: this.#id })
  }
}

function describe(messages: readonly ProbeMessage[]): string {
  return messages
    .slice(-5)
    .map((m) => `${JSON.stringify(m.data)} from ${m.from.host}:${m.from.port}`)
    .join(', ')
}
