/**
 * A real `overlay start --json` process, from source: every stdout line is a
 * JSON event, kept in order and emitted as it arrives, so a test waits for
 * the event that proves a state (never a fixed time). Killed after the test
 * if it is still running.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { TestContext } from 'node:test'
import { overlayArgs, REPO_ROOT } from '../../helpers/cli.js'
import { within } from '../../helpers/wait.js'

export interface OverlayEvent {
  type: string
  [field: string]: unknown
}

export interface ReadyEvent extends OverlayEvent {
  nodeId: string
  name: string
  address: string
  dashboard: string | null
}

export class OverlayProcess extends EventEmitter<{ event: [OverlayEvent] }> {
  readonly child: ChildProcessWithoutNullStreams
  readonly events: OverlayEvent[] = []
  stderr = ''
  readonly exited: Promise<number | null>
  #buffer = ''

  private constructor(args: string[], cwd: string) {
    super()
    this.child = spawn(process.execPath, overlayArgs(['start', '--json', ...args]), { cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout.on('data', (chunk: Buffer) => this.#read(chunk.toString()))
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
  }

  /** Starts `overlay start --json ARGS` in `cwd` and waits for its `ready` event. */
  static async start(t: TestContext, args: string[], options: { cwd?: string; readyMs?: number } = {}): Promise<{ proc: OverlayProcess; ready: ReadyEvent }> {
    const proc = new OverlayProcess(args, options.cwd ?? REPO_ROOT)
    t.after(() => proc.kill('SIGKILL'))
    const ready = (await proc.waitFor('ready', () => true, options.readyMs ?? 30_000)) as ReadyEvent
    return { proc, ready }
  }

  /** Where the event log stands now: pass it to waitFor to ignore what came before. */
  mark(): number {
    return this.events.length
  }

  /** The first event of `type` satisfying `filter` (from event number `from` on), already seen or within `ms`. */
  async waitFor(type: string, filter: (event: OverlayEvent) => boolean = () => true, ms = 10_000, from = 0): Promise<OverlayEvent> {
    const seen = this.events.slice(from).find((e) => e.type === type && filter(e))
    if (seen) return seen
    return within(
      ms,
      new Promise<OverlayEvent>((resolve, reject) => {
        const onEvent = (event: OverlayEvent): void => {
          if (event.type !== type || !filter(event)) return
          this.off('event', onEvent)
          resolve(event)
        }
        this.on('event', onEvent)
        this.exited.then((code) => reject(new Error(`overlay exited (${code}) before a "${type}" event\nstderr: ${this.stderr.slice(-2000)}`)))
      }),
      `a "${type}" event from overlay`,
    )
  }

  /** A command line on stdin, as a script would pipe it. */
  command(line: string): void {
    this.child.stdin.write(`${line}\n`)
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }

  #read(text: string): void {
    this.#buffer += text
    let newline: number
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline).trim()
      this.#buffer = this.#buffer.slice(newline + 1)
      if (!line) continue
      let event: OverlayEvent
      try {
        event = JSON.parse(line) as OverlayEvent
      } catch {
        event = { type: 'unparsed', line }
      }
      this.events.push(event)
      this.emit('event', event)
    }
  }
}
