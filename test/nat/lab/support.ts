/**
 * Can the lab run here? Root, Linux, working network namespaces and nftables,
 * and the tools (installed with apt-get when missing and root).
 */
import { ensureTools } from '../../helpers/debian.js'
import { LAB_PREFIX, LAB_TOOLS } from './constants.js'
import { createNamespace, deleteNamespace } from './netns.js'

export type LabSupport = { ok: true; installed: string[] } | { ok: false; reason: string }

let checked: Promise<LabSupport> | undefined

/** Checks once per process (and installs missing packages when root). */
export function labSupport(): Promise<LabSupport> {
  checked ??= check()
  return checked
}

async function check(): Promise<LabSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `it needs Linux network namespaces; this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'it needs root (network namespaces, nftables, conntrack); run the tests as root, as CI does' }

  const tools = await ensureTools(LAB_TOOLS, 'NAT lab')
  if (!tools.ok) return tools
  const installed = tools.installed

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
