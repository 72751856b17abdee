/**
 * For test files: a lab, or a loud skip where it cannot run, or a failure
 * under CI=true, where a lab suite must never pass by skipping.
 */
import type { TestContext } from 'node:test'
import { LabError } from './errors.js'
import { Lab } from './lab.js'
import { labSupport } from './support.js'

let warned = false

/**
 * True when the lab can run. Otherwise: under CI=true throws LAB_UNAVAILABLE
 * (the test fails); elsewhere prints why on stderr (once per process) and
 * marks `t` skipped with the reason, and returns false.
 */
export async function requireLab(t: TestContext): Promise<boolean> {
  const support = await labSupport()
  if (support.ok) return true
  const reason = `NAT lab cannot run: ${support.reason}`
  if (process.env.CI === 'true') throw new LabError('LAB_UNAVAILABLE', `${reason} (CI=true: failing instead of skipping)`)
  if (!warned) {
    warned = true
    const rule = '!'.repeat(78)
    console.error(`\n${rule}\n!! SKIPPING the NAT lab tests. ${reason}\n${rule}\n`)
  }
  t.skip(reason)
  return false
}

/** A lab destroyed after `t`, or undefined when `t` was skipped (see requireLab). */
export async function labFor(t: TestContext): Promise<Lab | undefined> {
  if (!(await requireLab(t))) return undefined
  return Lab.create(t)
}
