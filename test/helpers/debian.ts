/**
 * Debian packages that suites need (chromium, nftables, coturn...): found by
 * their programs, installed with apt-get when missing and running as root, as
 * CI does. A suite that still cannot run says so loudly and skips; under
 * CI=true it fails instead (nothing may pass by skipping there).
 */
import { spawn } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import path from 'node:path'
import type { TestContext } from 'node:test'

export interface DebianTool {
  /** An absolute path, or a name looked up in the sbin and bin directories. */
  command: string
  pkg: string
}

export type ToolSupport = { ok: true; installed: string[] } | { ok: false; reason: string }

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
const APT_UPDATE_TIMEOUT_MS = 5 * 60_000
const APT_INSTALL_TIMEOUT_MS = 15 * 60_000

export function hasProgram(command: string): boolean {
  const candidates = path.isAbsolute(command) ? [command] : SEARCH.map((dir) => path.join(dir, command))
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function missing(tools: readonly DebianTool[]): string[] {
  return [...new Set(tools.filter((t) => !hasProgram(t.command)).map((t) => t.pkg))]
}

/** Installs (as root) the packages of the tools that are missing; says why not when it cannot. */
export async function ensureTools(tools: readonly DebianTool[], label: string): Promise<ToolSupport> {
  const packages = missing(tools)
  if (packages.length === 0) return { ok: true, installed: [] }
  if (process.platform !== 'linux') return { ok: false, reason: `${packages.join(', ')} (Debian packages) are missing; this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { ok: false, reason: `${packages.join(', ')} not installed, and not root to install them (apt-get install ${packages.join(' ')})` }
  console.error(`${label}: installing Debian packages: ${packages.join(' ')}`)
  const result = await aptInstall(packages)
  if (result.code !== 0) return { ok: false, reason: `apt-get install ${packages.join(' ')} failed: ${result.output.trim().split('\n').slice(-3).join(' | ')}` }
  const still = missing(tools)
  if (still.length > 0) return { ok: false, reason: `still missing after apt-get install: ${still.join(' ')}` }
  return { ok: true, installed: packages }
}

const warned = new Set<string>()

/**
 * True when the suite can run. Otherwise: under CI=true throws (the test
 * fails); elsewhere prints why on stderr (once per label and process), marks
 * `t` skipped with the reason, and returns false.
 */
export function requireSupport(t: TestContext, support: ToolSupport, label: string): boolean {
  if (support.ok) return true
  const reason = `${label} cannot run: ${support.reason}`
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: failing instead of skipping)`)
  if (!warned.has(label)) {
    warned.add(label)
    const rule = '!'.repeat(78)
    console.error(`\n${rule}\n!! SKIPPING ${label}: ${support.reason}\n${rule}\n`)
  }
  t.skip(reason)
  return false
}

/** apt-get update first when there are no package lists, and again if the install fails. */
async function aptInstall(packages: string[]): Promise<{ code: number | null; output: string }> {
  const update = (): Promise<{ code: number | null; output: string }> => run(['apt-get', 'update', '-q'], APT_UPDATE_TIMEOUT_MS)
  const install = (): Promise<{ code: number | null; output: string }> =>
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=120', ...packages], APT_INSTALL_TIMEOUT_MS)
  if (!hasPackageLists()) await update()
  const first = await install()
  if (first.code === 0) return first
  await update()
  return install()
}

function hasPackageLists(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((name) => name.includes('_Packages'))
  } catch {
    return false
  }
}

function run(argv: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({ code: null, output: String(err) })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}
