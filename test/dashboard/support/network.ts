/**
 * A network of real `overlay` processes for the browser tests: one working
 * directory (the development CA is created there once), a config file per
 * node with quick heartbeats, each node started through the CLI with --json.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { OverlayProcess, type ReadyLine } from '../../helpers/overlay-process.js'

/** A peer silent this long is down: the bound the map is held to. */
export const HEARTBEAT = { intervalMs: 200, timeoutMs: 1_000 }

export interface RunningNode {
  name: string
  proc: OverlayProcess
  ready: ReadyLine
}

export async function workDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'overlay-dashboard-'))
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

/** Starts node `name` in `dir` with `yaml` appended to its config (thresholds, ...), joining `bootstrap`. */
export async function startCliNode(t: TestContext, dir: string, name: string, options: { yaml?: string; bootstrap?: string; dashboard?: boolean } = {}): Promise<RunningNode> {
  const config = path.join(dir, `${name}.yaml`)
  await fs.writeFile(
    config,
    [
      `heartbeat: { intervalMs: ${HEARTBEAT.intervalMs}, timeoutMs: ${HEARTBEAT.timeoutMs} }`,
      'peers: { maintainIntervalMs: 200, backoffBaseMs: 100 }',
      'log: { level: warn }',
      options.yaml ?? '',
    ].join('\n'),
  )
  const args = ['--config', config, '--name', name, '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(dir, name)]
  if (options.bootstrap) args.push('--bootstrap', options.bootstrap)
  args.push(...(options.dashboard === false ? ['--no-dashboard'] : ['--dashboard', '127.0.0.1:0']))
  const proc = await OverlayProcess.start(t, args, { cwd: dir })
  return { name, proc, ready: proc.readyLine }
}
