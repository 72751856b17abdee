/**
 * A real `overlay start --json` process, driven the way a script drives it:
 * commands on stdin, one JSON object per line on stdout. Killed after the
 * test if still running.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { TestContext } from 'node:test'
import { overlayArgs } from './cli.js'
import { nextEvent } from './wait.js'

export interface JsonLine {
  type: string
  [key: string]: unknown
}

export interface ReadyLine extends JsonLine {
  nodeId: string
  name: string
  address: string
  dashboard?: string | null
}

export class OverlayProcess {
  readonly child: ChildProcessWithoutNullStreams
  readonly lines: JsonLine[] = []
  stderr = ''
  readonly #events = new EventEmitter<{ line: [JsonLine]; exit: [number | null, NodeJS.Signals | null] }>()
  #buffer = ''
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  ready!: { nodeId: string; name: string; address: string; port: number }
  /** The whole `ready` line (dashboard URL, NAT, ...). */
  readyLine!: ReadyLine

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child
    this.child.stdout.on('data', (chunk: Buffer) => this.#onData(chunk.toString()))
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.child.on('exit', (code, signal) => {
      this.#exit = { code, signal }
      this.#events.emit('exit', code, signal)
    })
  }

  /** Starts a node on this host and waits for its `ready` line. */
  static start(t: TestContext, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<OverlayProcess> {
    const env = { ...process.env, ...options.env }
    delete env.NODE_TEST_CONTEXT
    const child = spawn(process.execPath, overlayArgs(['start', ...args, '--json']), { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    return OverlayProcess.attach(t, child, args)
  }

  /** Takes over a node process started elsewhere (in a lab namespace) and waits for its `ready` line. */
  static async attach(t: TestContext, child: ChildProcess, args: string[] = []): Promise<OverlayProcess> {
    const node = new OverlayProcess(child as ChildProcessWithoutNullStreams)
    t.after(() => node.kill('SIGKILL'))
    let ready: JsonLine
    try {
      ready = await node.next('ready', () => true, 30_000)
    } catch (err) {
      throw new Error(`overlay start ${args.join(' ')} did not get ready: ${(err as Error).message}\nstderr: ${node.stderr}`)
    }
    node.readyLine = ready as ReadyLine
    const address = String(ready.address)
    node.ready = { nodeId: String(ready.nodeId), name: String(ready.name), address, port: Number(address.split(':')[1]) }
    return node
  }

  get exited(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.#exit
  }

  /** The first line of `type` after line `since` (default: any so far, then any to come) that passes `filter`. */
  next(type: string, filter: (line: JsonLine) => boolean = () => true, ms = 10_000, since = 0): Promise<JsonLine> {
    return this.#nextLine((l) => l.type === type && filter(l), `'${type}'`, ms, since)
  }

  async #nextLine(test: (line: JsonLine) => boolean, what: string, ms: number, since: number): Promise<JsonLine> {
    const seen = this.lines.slice(since).find(test)
    if (seen) return seen
    try {
      const [line] = await nextEvent<[JsonLine]>(this.#events, 'line', test, ms)
      return line
    } catch {
      const recent = this.lines.slice(-5).map((l) => JSON.stringify(l).slice(0, 200))
      throw new Error(`${this.ready?.name ?? 'overlay'}: no ${what} line within ${ms} ms; last lines:\n  ${recent.join('\n  ')}\nstderr tail: ${this.stderr.slice(-800)}`)
    }
  }

  /** Sends a command line; resolves with its `result` (or rejects with its `error` line). */
  async command(line: string, ms = 15_000): Promise<JsonLine> {
    const since = this.lines.length
    const command = line.split(/\s+/)[0]
    this.child.stdin.write(`${line}\n`)
    // One wait for either answer: a race of two would leave the loser's listener and timer behind.
    const answer = await this.#nextLine((l) => (l.type === 'result' && l.command === command) || l.type === 'error', `'result' or 'error'`, ms, since)
    if (answer.type === 'error') throw Object.assign(new Error(`${line}: ${String(answer.message)}`), { code: answer.code })
    return answer
  }

  write(text: string): void {
    this.child.stdin.write(text)
  }

  endInput(): void {
    this.child.stdin.end()
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#exit === null) this.child.kill(signal)
  }

  async waitExit(ms = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.#exit) return this.#exit
    try {
      const [code, signal] = await nextEvent<[number | null, NodeJS.Signals | null]>(this.#events, 'exit', () => true, ms)
      return { code, signal }
    } catch {
      throw new Error(`${this.ready?.name ?? 'overlay'} did not exit within ${ms} ms; stderr tail:\n${this.stderr.slice(-1500)}`)
    }
  }

  #onData(text: string): void {
    this.#buffer += text
    let newline: number
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const raw = this.#buffer.slice(0, newline)
      this.#buffer = this.#buffer.slice(newline + 1)
      if (raw.trim() === '') continue
      let line: JsonLine
      try {
        line = JSON.parse(raw) as JsonLine
      } catch {
        line = { type: 'not-json', raw }
      }
      this.lines.push(line)
      this.#events.emit('line', line)
    }
  }
}
