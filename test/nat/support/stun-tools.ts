/**
 * Standard STUN implementations to test against: coturn's turnserver (a STUN
 * server) and turnutils_stunclient (an RFC 5389 client), and the vovida
 * `stun` client (RFC 3489, from Debian's stun-client). Installed with apt-get
 * when missing and root, as the NAT lab does; otherwise a loud skip, and a
 * failure under CI=true.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { ensureTools, requireSupport, type ToolSupport } from '../../helpers/debian.js'
import { labEnv } from '../lab/run.js'
import { within } from '../../helpers/wait.js'

const TOOLS = [
  { command: '/usr/bin/turnserver', pkg: 'coturn' },
  { command: '/usr/bin/turnutils_stunclient', pkg: 'coturn' },
  // By path: under npm, node_modules/.bin is on PATH and has a `stun` of its own (the stun package's server).
  { command: '/usr/bin/stun', pkg: 'stun-client' },
] as const

/** coturn prints this once its UDP socket is open (with -v). */
const COTURN_READY = /UDP listener opened on: ?([\d.]+):(\d+)/
const COTURN_START_TIMEOUT_MS = 15_000

let checked: Promise<ToolSupport> | undefined

async function check(): Promise<ToolSupport> {
  return ensureTools(TOOLS, 'STUN interop')
}

/** True when coturn and stun-client are here; else a loud skip (or, under CI=true, a failure). */
export async function requireStunTools(t: TestContext): Promise<boolean> {
  checked ??= check()
  return requireSupport(t, await checked, 'the STUN interop tests')
}

/**
 * A UDP port free right now on `host`, for programs that cannot pick one
 * themselves. Taken below the kernel's ephemeral range (32768-60999), so no
 * socket bound to port 0 meanwhile can take it before the program binds it.
 */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const socket = dgram.createSocket('udp4')
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false))
      socket.bind(port, host, () => resolve(true))
    })
    await new Promise<void>((resolve) => socket.close(() => resolve()))
    if (bound) return port
    if (attempt >= 20) throw new Error(`no free UDP port found on ${host}`)
  }
}

export interface Coturn {
  host: string
  port: number
  child: ChildProcess
  log(): string
  stop(): Promise<void>
}

/**
 * coturn as a plain STUN server (--stun-only) on host:port, with its own pid
 * file. `spawnIn` runs it elsewhere (a lab namespace); the default spawns here.
 * Resolves once its UDP listener is open.
 */
export async function startCoturn(options: { host: string; port: number; spawnIn?: (argv: string[]) => ChildProcess }): Promise<Coturn> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ovl-coturn-'))
  const argv = ['turnserver', '-n', '-v', '--stun-only', '--no-cli', '--no-tls', '--no-dtls', '--no-software-attribute', '-L', options.host, '-p', String(options.port), '--pidfile', path.join(dir, 'turnserver.pid'), '--log-file', 'stdout', '--simple-log']
  const child = options.spawnIn ? options.spawnIn(argv) : spawn(argv[0]!, argv.slice(1), { env: labEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = new Promise<void>((resolve, reject) => {
    let buffered = ''
    const onData = (chunk: Buffer): void => {
      const parts = (buffered + chunk.toString()).split('\n')
      buffered = parts.pop() ?? ''
      for (const line of parts) {
        lines.push(line)
        if (lines.length > 200) lines.shift()
        const m = COTURN_READY.exec(line)
        if (m && m[1] === options.host && Number(m[2]) === options.port) resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    void exited.then(() => reject(new Error(`turnserver exited at start-up:\n${lines.join('\n')}`)))
  })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await within(COTURN_START_TIMEOUT_MS, ready, `turnserver listening on ${options.host}:${options.port}`)
  } catch (error) {
    await stop()
    throw error
  }
  return { host: options.host, port: options.port, child, log: () => lines.join('\n'), stop }
}
