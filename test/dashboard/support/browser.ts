/**
 * Headless Chromium through playwright-core, started the way this machine
 * needs it: Debian's binary, no sandbox (root), no GPU, no background
 * networking (the network here is closed), and a fresh profile directory per
 * test, removed after it.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { chromium, type BrowserContext } from 'playwright-core'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A browser with a fresh --user-data-dir, closed (and its profile removed) after `t`. */
export async function launchBrowser(t: TestContext, executablePath: string): Promise<BrowserContext> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'overlay-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1100 },
  })
  t.after(async () => {
    await context.close()
    await fs.rm(profile, { recursive: true, force: true })
  })
  return context
}
