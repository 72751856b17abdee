/**
 * Debian's Chromium for the browser tests, like the NAT lab's tools: found at
 * /usr/bin/chromium, installed with apt-get when missing and running as root;
 * otherwise the tests skip LOUDLY, and under CI=true they fail instead (a
 * browser suite must never pass by skipping).
 */
import type { TestContext } from 'node:test'
import { ensureTools, requireSupport } from '../../helpers/debian.js'

export const CHROMIUM = '/usr/bin/chromium'

export type ChromiumSupport = { ok: true; executablePath: string; installed: boolean } | { ok: false; reason: string }

let checked: Promise<ChromiumSupport> | undefined

/** Checks once per process (and installs chromium when missing and root). */
export function chromiumSupport(): Promise<ChromiumSupport> {
  checked ??= ensureTools([{ command: CHROMIUM, pkg: 'chromium' }], 'dashboard tests').then((support) =>
    support.ok ? { ok: true, executablePath: CHROMIUM, installed: support.installed.length > 0 } : support,
  )
  return checked
}

/**
 * The browser's path when it can run. Otherwise: under CI=true throws (the
 * test fails); elsewhere prints why on stderr (once per process), marks `t`
 * skipped with the reason and returns null.
 */
export async function requireChromium(t: TestContext): Promise<string | null> {
  const support = await chromiumSupport()
  return requireSupport(t, support.ok ? { ok: true, installed: [] } : support, 'the dashboard browser tests') && support.ok ? support.executablePath : null
}
