/**
 * Debian's Chromium for the browser tests, like the NAT lab's tools: found at
 * /usr/bin/chromium, installed with apt-get when missing and running as root;
 * otherwise the tests skip LOUDLY, and under CI=true they fail instead (a
 * browser suite must never pass by skipping).
 */
import { spawn } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import type { TestContext } from 'node:test'

export const CHROMIUM = '/usr/bin/chromium'
const APT_UPDATE_TIMEOUT_MS = 5 * 60_000
const APT_INSTALL_TIMEOUT_MS = 15 * 60_000

export type ChromiumSupport = { ok: true; executablePath: string; installed: boolean } | { ok: false; reason: string }

let checked: Promise<ChromiumSupport> | undefined
let warned = false

/** Checks once per process (and installs chromium when missing and root). */
export function chromiumSupport(): Promise<ChromiumSupport> {
  checked ??= check()
  return checked
}

/**
 * The browser's path when it can run. Otherwise: under CI=true throws (the
 * test fails); elsewhere prints why on stderr (once per process), marks `t`
 * skipped with the reason and returns null.
 */
export async function requireChromium(t: TestContext): Promise<string | null> {
  const support = await chromiumSupport()
  if (support.ok) return support.executablePath
  const reason = `the browser tests cannot run: ${support.reason}`
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: failing instead of skipping)`)
  if (!warned) {
    warned = true
    const rule = '!'.repeat(78)
    console.error(`\n${rule}\n!! SKIPPING the dashboard browser tests: ${reason}\n${rule}\n`)
  }
  t.skip(reason)
  return null
}

async function check(): Promise<ChromiumSupport> {
  if (isExecutable(CHROMIUM)) return { ok: true, executablePath: CHROMIUM, installed: false }
  if (process.platform !== 'linux') return { ok: false, reason: `it needs Debian's chromium at ${CHROMIUM}; this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { ok: false, reason: `${CHROMIUM} is missing; install it (apt-get install chromium) or run the tests as root, as CI does` }
  console.error('dashboard tests: installing Debian package chromium')
  const result = await aptInstall(['chromium'])
  if (result.code !== 0) return { ok: false, reason: `apt-get install chromium failed: ${result.output.trim().split('\n').slice(-3).join(' | ')}` }
  if (!isExecutable(CHROMIUM)) return { ok: false, reason: `still no ${CHROMIUM} after apt-get install chromium` }
  return { ok: true, executablePath: CHROMIUM, installed: true }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** apt-get update first when there are no package lists, and again if the install fails. */
async function aptInstall(packages: string[]): Promise<{ code: number | null; output: string }> {
  const update = () => run(['apt-get', 'update', '-q'], APT_UPDATE_TIMEOUT_MS)
  const install = () => run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=120', ...packages], APT_INSTALL_TIMEOUT_MS)
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
