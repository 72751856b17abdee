/** Running commands: async with a time limit, and sync for exit handlers. */
import { spawn, spawnSync } from 'node:child_process'
import { LabError } from './errors.js'
import { EXEC_TIMEOUT_MS } from './constants.js'

export interface ExecResult {
  stdout: string
  stderr: string
  /** Exit code; a process ended by a signal reports 128 + the signal number (as a shell does). */
  code: number
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string
  timeoutMs?: number
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv
}

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/** The environment for lab commands: sbin on PATH, and no test-runner context leaking into children. */
export function labEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dirs = (process.env.PATH ?? '/usr/bin:/bin').split(':')
  for (const dir of SBIN_DIRS) if (!dirs.includes(dir)) dirs.push(dir)
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: dirs.join(':'), ...extra }
  delete env.NODE_TEST_CONTEXT
  return env
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** Runs argv, never throws for a non-zero exit (see `runOk`). */
export function run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv
  if (file === undefined) return Promise.reject(new TypeError('run: empty argv'))
  const timeoutMs = options.timeoutMs ?? EXEC_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: labEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new LabError('LAB_TIMEOUT', `${argv.join(' ')}: no exit after ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new LabError('LAB_COMMAND_FAILED', `${argv.join(' ')}: ${error.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        code: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0),
      })
    })
    child.stdin.on('error', () => {}) // a command that exits without reading its input
    child.stdin.end(options.input ?? '')
  })
}

/** Runs argv and returns its stdout; a non-zero exit throws LAB_COMMAND_FAILED with stderr. */
export async function runOk(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
  const result = await run(argv, options)
  if (result.code !== 0) throw commandFailed(argv, result)
  return result.stdout
}

/** For exit handlers, where nothing async runs any more. Never throws. */
export function runSync(argv: readonly string[]): ExecResult {
  const [file, ...args] = argv
  if (file === undefined) return { stdout: '', stderr: 'empty argv', code: 1 }
  const result = spawnSync(file, args, { env: labEnv(), encoding: 'utf8', timeout: EXEC_TIMEOUT_MS })
  return { stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? ''), code: result.status ?? 1 }
}

export function commandFailed(argv: readonly string[], result: ExecResult): LabError {
  const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ')
  return new LabError('LAB_COMMAND_FAILED', `${argv.join(' ')} exited ${result.code}: ${detail}`)
}
