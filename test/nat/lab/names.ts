/**
 * Namespace names: `ovl-<pid>-<n>-<host>`. The pid says which process owns a
 * namespace, so a new lab can sweep what crashed runs left behind without
 * touching the labs of test files running in parallel.
 */
import { readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LAB_PREFIX } from './constants.js'
import { deleteNamespace, listNamespaces } from './netns.js'

let labsInThisProcess = 0

/** A fresh prefix for one lab, unique on this machine while this process lives. */
export function newLabPrefix(): string {
  return `${LAB_PREFIX}${process.pid}-${(labsInThisProcess++).toString(36)}-`
}

/** The pid that owns a lab namespace, or undefined for an `ovl-` name without one. */
export function ownerPid(namespace: string): number | undefined {
  const match = /^ovl-(\d+)-/.exec(namespace)
  return match ? Number(match[1]) : undefined
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isStale(name: string): boolean {
  if (!name.startsWith(LAB_PREFIX)) return false
  const pid = ownerPid(name)
  return pid === undefined || !isAlive(pid)
}

/**
 * Deletes every `ovl-` namespace whose owning process is gone (a run that was
 * killed with SIGKILL or crashed before its exit handler), after killing the
 * processes still inside it, and such a run's temporary directory. The `ovl-`
 * prefix is reserved for the lab.
 */
export async function sweepStale(): Promise<string[]> {
  const stale = (await listNamespaces()).filter(isStale)
  await Promise.all(stale.map((name) => deleteNamespace(name)))
  for (const name of readdirSync(os.tmpdir()).filter(isStale)) rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true })
  return stale
}
