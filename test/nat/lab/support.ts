/**
 * Can the lab run here? Root, Linux, working network namespaces and nftables,
 * and the tools (installed with apt-get when missing and root).
 */
import { accessSync, constants as fsConstants, readdirSync } from 'node:fs'
import path from 'node:path'
import { LAB_PREFIX, LAB_TOOLS } from './constants.js'
import { createNamespace, deleteNamespace } from './netns.js'
import { labEnv, run, type ExecResult } from './run.js'

export type LabSupport = { ok: true; installed: string[] } | { ok: false; reason: string }

const APT_UPDATE_TIMEOUT_MS = 5 * 60_000
const APT_INSTALL_TIMEOUT_MS = 10 * 60_000

let checked: Promise<LabSupport> | undefined

/** Checks once per process (and installs missing packages when root). */
export function labSupport(): Promise<LabSupport> {
  checked ??= check()
  return checked
}

async function check(): Promise<LabSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `it needs Linux network namespaces; this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'it needs root (network namespaces, nftables, conntrack); run the tests as root, as CI does' }

  let installed: string[] = []
  const missing = missingPackages()
  if (missing.length > 0) {
    console.error(`NAT lab: installing Debian packages: ${missing.join(' ')}`)
    const result = await aptInstall(missing)
    if (result.code !== 0) return { ok: false, reason: `apt-get install ${missing.join(' ')} failed: ${lastLines(result)}` }
    const still = missingPackages()
    if (still.length > 0) return { ok: false, reason: `still missing after apt-get install: ${still.join(' ')}` }
    installed = missing
  }

  const probe = `${LAB_PREFIX}${process.pid}-check`
  try {
    const ns = await createNamespace(probe)
    await ns.nft('table ip lab_check {\n  chain c {\n    type nat hook postrouting priority srcnat; policy accept;\n    masquerade\n  }\n}\n')
    await ns.runOk(['conntrack', '-L'])
  } catch (error) {
    return { ok: false, reason: `network namespaces or nftables do not work here: ${(error as Error).message}` }
  } finally {
    await deleteNamespace(probe)
  }
  return { ok: true, installed }
}

function missingPackages(): string[] {
  const dirs = (labEnv().PATH ?? '').split(':')
  return LAB_TOOLS.filter(({ command }) => !dirs.some((dir) => isExecutable(path.join(dir, command)))).map(({ pkg }) => pkg)
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK)
    return true
  } catch {
    return false
  }
}

/** apt-get update first when there are no package lists, and again if the install fails. */
async function aptInstall(packages: readonly string[]): Promise<ExecResult> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  const update = (): Promise<ExecResult> => run(['apt-get', 'update', '-q'], { env, timeoutMs: APT_UPDATE_TIMEOUT_MS })
  const install = (): Promise<ExecResult> =>
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=120', ...packages], { env, timeoutMs: APT_INSTALL_TIMEOUT_MS })
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

function lastLines(result: ExecResult): string {
  return (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')
}
