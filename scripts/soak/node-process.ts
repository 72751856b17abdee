/**
 * One soak node: a real `overlay start --json` process (child.ts), driven
 * through stdin, read line by line from stdout, sampled over IPC. Nothing is
 * kept per line (a soak runs for hours): lines are handed on as they come,
 * stderr keeps a short tail and a count of warnings and errors by message.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { ProbeRequest, ProcessSample } from './types.js'

export interface NodeLine {
  type: string
  [key: string]: unknown
}

export interface ReadyInfo {
  nodeId: string
  name: string
  address: string
  port: number
  dashboard: string | null
}

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
  at: number
}

interface Pending {
  line: string
  resolve: (line: NodeLine) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
  /** Timed out: its answer, when it comes, is dropped. */
  abandoned: boolean
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
const STDERR_TAIL_CHARS = 8_000
/** Distinct warning/error messages counted per process. */
const MAX_LOG_KEYS = 100

export class CommandError extends Error {
  readonly code: string
  constructor(line: string, code: string, message: string) {
    super(`${line}: ${message}`)
    this.code = code
  }
}

export class NodeProcess extends EventEmitter<{ line: [line: NodeLine, at: number]; exit: [info: ExitInfo] }> {
  readonly name: string
  readonly child: ChildProcess
  readonly spawnedAt = performance.now()
  ready: ReadyInfo | null = null
  exitInfo: ExitInfo | null = null
  /** Warnings and errors the node logged, by level and message. */
  readonly logCounts = new Map<string, number>()
  #stdout = ''
  #stderr = ''
  #stderrTail = ''
  readonly #pending: Pending[] = []
  readonly #samples = new Map<number, { resolve: (s: ProcessSample) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  #sampleId = 0
  readonly #log: WriteStream | null

  private constructor(name: string, args: string[], cwd: string, logFile: string | null) {
    super()
    this.name = name
    this.#log = logFile === null ? null : createWriteStream(logFile, { flags: 'a' })
    this.child = spawn(process.execPath, ['--expose-gc', '--import', TSX, CHILD, 'start', ...args, '--json'], {
      cwd,
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
      // Its own process group: Ctrl-C on the soak's terminal is the soak's to handle (it tells each node to exit).
      detached: true,
    })
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#onStdout(chunk))
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.#onStderr(chunk))
    this.child.stdin?.on('error', () => {}) // a dead process's stdin: the exit says why
    this.child.on('message', (message: ProcessSample) => this.#onSample(message))
    this.child.on('error', (err) => this.#onExit(null, null, err))
    this.child.on('exit', (code, signal) => this.#onExit(code, signal, null))
  }

  /** Starts `overlay start ARGS --json` in `cwd`; its stderr (the node's log) also goes to `logFile`. */
  static spawn(name: string, args: string[], cwd: string, logFile: string | null = null): NodeProcess {
    return new NodeProcess(name, args, cwd, logFile)
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get alive(): boolean {
    return this.exitInfo === null
  }

  /** The `ready` line, or an error with the stderr tail if it exits or takes longer than `ms`. */
  waitReady(ms: number): Promise<ReadyInfo> {
    if (this.ready) return Promise.resolve(this.ready)
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        this.off('line', onLine)
        this.off('exit', onExit)
      }
      const onLine = (line: NodeLine): void => {
        if (line.type !== 'ready' || !this.ready) return
        done()
        resolve(this.ready)
      }
      const onExit = (info: ExitInfo): void => {
        done()
        reject(new Error(`${this.name} exited (${info.signal ?? info.code}) before it was ready; stderr:\n${this.stderrTail(2_000)}`))
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${this.name} not ready within ${ms} ms; stderr:\n${this.stderrTail(2_000)}`))
      }, ms)
      this.on('line', onLine)
      this.on('exit', onExit)
    })
  }

  /**
   * Runs a command; resolves with its `result` line, rejects with its `error`
   * line (a CommandError with the code) or after `ms`. The node answers its
   * commands one at a time and in order, so answers are matched in order.
   */
  command(line: string, ms: number): Promise<NodeLine> {
    if (!this.alive || !this.child.stdin?.writable) return Promise.reject(new Error(`${this.name} is not running`))
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        line,
        resolve,
        reject,
        abandoned: false,
        timer: setTimeout(() => {
          pending.abandoned = true
          reject(new Error(`${this.name}: no answer to "${line.slice(0, 60)}" within ${ms} ms`))
        }, ms),
      }
      this.#pending.push(pending)
      this.child.stdin?.write(`${line}\n`)
    })
  }

  /** Writes a line without waiting for an answer (exit). */
  write(line: string): void {
    if (this.alive && this.child.stdin?.writable) this.child.stdin.write(`${line}\n`)
  }

  /** The process's memory, resources and timers, after a full GC (child.ts). */
  sample(ms: number): Promise<ProcessSample> {
    if (!this.alive || !this.child.connected) return Promise.reject(new Error(`${this.name} is not running`))
    const id = ++this.#sampleId
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#samples.delete(id)
        reject(new Error(`${this.name}: no sample within ${ms} ms`))
      }, ms)
      this.#samples.set(id, { resolve, reject, timer })
      const request: ProbeRequest = { type: 'sample', id }
      this.child.send(request, (err) => {
        if (!err) return
        clearTimeout(timer)
        this.#samples.delete(id)
        reject(err)
      })
    })
  }

  /** Open file descriptors, from /proc (Linux); null elsewhere or once exited. */
  async fdCount(): Promise<number | null> {
    if (!this.alive || this.pid === undefined) return null
    try {
      return (await fs.readdir(`/proc/${this.pid}/fd`)).length
    } catch {
      return null
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal)
  }

  waitExit(ms: number): Promise<ExitInfo> {
    if (this.exitInfo) return Promise.resolve(this.exitInfo)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('exit', onExit)
        reject(new Error(`${this.name} did not exit within ${ms} ms; stderr:\n${this.stderrTail(1_500)}`))
      }, ms)
      const onExit = (info: ExitInfo): void => {
        clearTimeout(timer)
        resolve(info)
      }
      this.once('exit', onExit)
    })
  }

  stderrTail(chars = STDERR_TAIL_CHARS): string {
    return this.#stderrTail.slice(-chars)
  }

  #onStdout(chunk: string): void {
    this.#stdout += chunk
    let newline: number
    while ((newline = this.#stdout.indexOf('\n')) >= 0) {
      const raw = this.#stdout.slice(0, newline)
      this.#stdout = this.#stdout.slice(newline + 1)
      if (raw.trim() === '') continue
      const at = performance.now()
      let line: NodeLine
      try {
        line = JSON.parse(raw) as NodeLine
      } catch {
        line = { type: 'not-json', raw: raw.slice(0, 500) }
      }
      if (line.type === 'ready') this.#onReady(line)
      if (line.type === 'result' || line.type === 'error') this.#answer(line)
      this.emit('line', line, at)
    }
  }

  #onReady(line: NodeLine): void {
    const address = String(line.address)
    this.ready = {
      nodeId: String(line.nodeId),
      name: String(line.name),
      address,
      port: Number(address.split(':').at(-1)),
      dashboard: typeof line.dashboard === 'string' ? line.dashboard : null,
    }
  }

  #answer(line: NodeLine): void {
    const pending = this.#pending.shift()
    if (!pending) return
    clearTimeout(pending.timer)
    if (pending.abandoned) return
    if (line.type === 'result') pending.resolve(line)
    else pending.reject(new CommandError(pending.line.slice(0, 60), String(line.code), String(line.message)))
  }

  #onStderr(chunk: string): void {
    this.#log?.write(chunk)
    this.#stderrTail = (this.#stderrTail + chunk).slice(-STDERR_TAIL_CHARS)
    this.#stderr += chunk
    let newline: number
    while ((newline = this.#stderr.indexOf('\n')) >= 0) {
      const raw = this.#stderr.slice(0, newline)
      this.#stderr = this.#stderr.slice(newline + 1)
      this.#countLog(raw)
    }
  }

  /** pino JSON: level 40 warn, 50 error, 60 fatal. */
  #countLog(raw: string): void {
    if (!raw.startsWith('{')) return
    let entry: { level?: number; msg?: string; code?: string }
    try {
      entry = JSON.parse(raw) as typeof entry
    } catch {
      return
    }
    if ((entry.level ?? 0) < 40) return
    const level = entry.level === 40 ? 'warn' : entry.level === 50 ? 'error' : 'fatal'
    const key = `${level}: ${String(entry.msg ?? '').replace(/[0-9a-z]{20,}/g, '…').slice(0, 120)}${entry.code ? ` [${entry.code}]` : ''}`
    if (!this.logCounts.has(key) && this.logCounts.size >= MAX_LOG_KEYS) return
    this.logCounts.set(key, (this.logCounts.get(key) ?? 0) + 1)
  }

  #onSample(message: ProcessSample): void {
    if (message?.type !== 'sample') return
    const waiter = this.#samples.get(message.id)
    if (!waiter) return
    this.#samples.delete(message.id)
    clearTimeout(waiter.timer)
    waiter.resolve(message)
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, error: Error | null): void {
    if (this.exitInfo) return
    this.exitInfo = { code, signal, at: performance.now() }
    // The last of stderr may still be on its way: end the log once the pipe closes.
    if (this.child.stderr && !this.child.stderr.readableEnded) this.child.stderr.once('close', () => this.#log?.end())
    else this.#log?.end()
    const why = new Error(`${this.name} exited (${signal ?? code}${error ? `: ${error.message}` : ''})`)
    for (const pending of this.#pending.splice(0)) {
      clearTimeout(pending.timer)
      if (!pending.abandoned) pending.reject(why)
    }
    for (const waiter of this.#samples.values()) {
      clearTimeout(waiter.timer)
      waiter.reject(why)
    }
    this.#samples.clear()
    this.emit('exit', this.exitInfo)
  }
}
