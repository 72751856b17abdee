// The dashboard and warnings through the real `overlay start`: the URL in the
// `ready` event and on the terminal, --dashboard and --no-dashboard, and
// warnings printed as `warning` / `warning:cleared` JSON events.
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { runCli } from '../helpers/cli.js'
import { request } from './support/http.js'
import { OverlayProcess } from '../helpers/overlay-process.js'
import { startCliNode, workDir } from './support/network.js'

describe('overlay start with the dashboard', () => {
  it('serves it by default on loopback and gives its URL in the ready event', async (t) => {
    const dir = await workDir(t)
    const proc = await OverlayProcess.start(t, ['--name', 'solo', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(dir, 'solo')], { cwd: dir })
    const ready = proc.readyLine
    assert.match(String(ready.dashboard), /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/)
    const url = new URL(ready.dashboard as string)
    const state = await request({ port: Number(url.port), path: '/api/state', headers: { authorization: `Bearer ${url.searchParams.get('token')}` } })
    assert.equal(state.status, 200)
    assert.equal((JSON.parse(state.body) as { self: { name: string } }).self.name, 'solo')
    proc.write('exit\n')
    assert.equal((await proc.waitExit()).code, 0, 'a graceful exit closes the dashboard too')
    assert.ok(!proc.stderr.includes(url.searchParams.get('token') as string), 'the token is not in the logs')
  })

  it('--dashboard HOST:PORT and --no-dashboard', async (t) => {
    const dir = await workDir(t)
    const on = await startCliNode(t, dir, 'on')
    assert.match(String(on.ready.dashboard), /^http:\/\/127\.0\.0\.1:\d+\//)
    const off = await startCliNode(t, dir, 'off', { dashboard: false })
    assert.equal(off.ready.dashboard, null)
    const bad = await runCli(['start', '--json', '--dashboard', 'not-an-address'], { cwd: dir })
    assert.equal(bad.code, 2)
    const error = JSON.parse(bad.stdout) as { type: string; code: string; message: string }
    assert.equal(error.code, 'OVL_USAGE')
    assert.match(error.message, /--dashboard expects \[HOST:\]PORT/)
  })

  it('prints the URL for people', async (t) => {
    const dir = await workDir(t)
    const result = await runCli(['start', '0', '--host', '127.0.0.1', '--data-dir', path.join(dir, 'human')], { cwd: dir, input: 'exit\n' })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /\ndashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=/)
  })

  it('prints warnings raised and cleared as JSON events', async (t) => {
    const dir = await workDir(t)
    const { proc, ready } = await startCliNode(t, dir, 'lonely', { yaml: 'thresholds: { evaluateIntervalMs: 100, minPeers: 1 }' })
    const warning = await proc.next('warning', (e) => e.metric === 'few-peers')
    assert.equal(warning.local, true)
    assert.equal(warning.originName, 'lonely')
    assert.equal(warning.value, 0)
    assert.equal(warning.threshold, 1)
    assert.equal(warning.text, '0 peers with a session (fewer than 1)')
    await startCliNode(t, dir, 'friend', { bootstrap: ready.address, dashboard: false })
    const cleared = await proc.next('warning:cleared', (e) => e.metric === 'few-peers')
    assert.equal(cleared.local, true)
  })
})
