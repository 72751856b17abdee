/**
 * Separate `overlay` processes on loopback, driven through stdin with --json
 * exactly as an operator's script would: the original positional shorthand,
 * join through a bootstrap node, peers, send with acknowledgement (also to a
 * node with no session), broadcast, SIGKILL noticed within the heartbeat
 * bound (default settings), graceful exit noticed at once, and a restart
 * that finds its peers from the cache after the bootstrap node is gone.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_HEARTBEAT } from '../../src/node/defaults.js'
import { runCli } from '../helpers/cli.js'
import { OverlayProcess, type JsonLine } from '../helpers/overlay-process.js'
import { tempDir } from '../helpers/pki.js'

type Peer = { id: string; name: string }

/** Tests keep their traffic on loopback. */
const LOOPBACK = ['--host', '127.0.0.1']

function peerIds(result: JsonLine): string[] {
  return (result.peers as Peer[]).map((p) => p.id).sort()
}

describe('overlay processes driven through stdin with --json', () => {
  it('join, peers, send with receipts (direct and routed), broadcast, SIGKILL and graceful exit', async (t) => {
    const cwd = await tempDir('overlay-cli-')
    // The original shorthand: `start PORT`, then `start PORT HOST PORT`. Port 0 lets the OS pick.
    const boot = await OverlayProcess.start(t, ['0', ...LOOPBACK, '--name', 'boot'], { cwd })
    const bootstrap = ['127.0.0.1', String(boot.ready.port)]
    // Alpha and beta keep to one session each (with boot): alpha reaches beta only through
    // the bootstrap node. (With beta alone limited, alpha would dial it anyway and hold a
    // session for the moment it takes beta to refuse it.)
    const onePeer = await onePeerConfig(cwd)
    const a = await OverlayProcess.start(t, ['0', ...bootstrap, ...LOOPBACK, '--name', 'alpha', '--log-level', 'debug', '--config', onePeer], { cwd })
    const b = await OverlayProcess.start(t, ['0', ...bootstrap, ...LOOPBACK, '--name', 'beta', '--config', onePeer], { cwd })

    await a.next('peer:up', (l) => (l.peer as Peer).name === 'boot')
    await b.next('peer:up', (l) => (l.peer as Peer).name === 'boot')
    const peersA = await a.command('peers')
    assert.ok(peerIds(peersA).includes(boot.ready.nodeId))
    const listed = (peersA.peers as Array<Record<string, unknown>>).find((p) => p.id === boot.ready.nodeId)
    assert.deepEqual(Object.keys(listed ?? {}).sort(), ['address', 'direction', 'id', 'link', 'missedHeartbeats', 'name', 'rttMs', 'silentForMs', 'state', 'via'])

    // Direct over a session, by name, with its receipt.
    const sent = await a.command('send boot hello boot, it is alpha')
    assert.deepEqual({ delivered: sent.delivered, via: sent.via, hops: sent.hops }, { delivered: true, via: 'session', hops: 1 })
    const atBoot = await boot.next('message', (l) => l.text === 'hello boot, it is alpha')
    assert.deepEqual({ from: atBoot.from, broadcast: atBoot.broadcast }, { from: a.ready.nodeId, broadcast: false })

    // To beta, which alpha has no session with: routed through boot, by node id prefix
    // (known once boot has passed beta's record on).
    await a.next('record', (l) => l.id === b.ready.nodeId)
    assert.ok(!peerIds(await a.command('peers')).includes(b.ready.nodeId), 'no session alpha-beta')
    const routed = await a.command(`send ${b.ready.nodeId.slice(0, 10)} across the overlay`)
    assert.deepEqual({ delivered: routed.delivered, via: routed.via, hops: routed.hops }, { delivered: true, via: 'routed', hops: 2 })
    await b.next('message', (l) => l.text === 'across the overlay' && l.from === a.ready.nodeId)

    // Broadcast: everyone else gets it once, marked as a broadcast.
    await b.command('broadcast to all of you')
    for (const node of [a, boot]) await node.next('message', (l) => l.text === 'to all of you' && l.broadcast === true && l.from === b.ready.nodeId)

    // A command error is a JSON line with a code; the node keeps going.
    await assert.rejects(a.command('send nobody hi'), { code: 'OVL_PEER_UNKNOWN' })
    await a.command('stats')

    // SIGKILL: noticed by its neighbour within the heartbeat timeout, with the default settings.
    const killedAt = performance.now()
    b.kill('SIGKILL')
    const down = await boot.next('peer:down', (l) => (l.peer as Peer).id === b.ready.nodeId, 10_000)
    const detectedMs = performance.now() - killedAt
    assert.equal(down.reason, 'OVL_HEARTBEAT_TIMEOUT')
    assert.ok(detectedMs < 5_000, `noticed after ${Math.round(detectedMs)} ms (timeout ${DEFAULT_HEARTBEAT.timeoutMs} ms)`)
    t.diagnostic(`SIGKILL noticed after ${Math.round(detectedMs)} ms`)

    // Graceful exit: LEAVE, noticed at once (not after a timeout), exit status 0.
    const leftAt = performance.now()
    a.write('exit\n')
    const left = await boot.next('peer:down', (l) => (l.peer as Peer).id === a.ready.nodeId, 5_000)
    assert.equal(left.reason, 'OVL_PEER_LEFT')
    assert.ok(performance.now() - leftAt < 1_500, 'at once')
    assert.deepEqual(await a.waitExit(), { code: 0, signal: null })
  })

  it('end of input does not stop the node; exit does', async (t) => {
    const cwd = await tempDir('overlay-cli-')
    const node = await OverlayProcess.start(t, ['0', ...LOOPBACK, '--name', 'lonely'], { cwd })
    node.write('peers\n')
    await node.next('result', (l) => l.command === 'peers')
    node.endInput()
    // Still answering its peers after stdin closed: another node can join it.
    const other = await OverlayProcess.start(t, ['0', '127.0.0.1', String(node.ready.port), ...LOOPBACK, '--name', 'visitor'], { cwd })
    await node.next('peer:up', (l) => (l.peer as Peer).id === other.ready.nodeId)
    assert.equal(node.exited, null)
    other.write('exit\n')
    assert.deepEqual(await other.waitExit(), { code: 0, signal: null })
  })

  it('a second node on the same data directory says the peer cache is locked and exits, dashboard and all', async (t) => {
    const cwd = await tempDir('overlay-cli-')
    const args = ['0', ...LOOPBACK, '--data-dir', 'shared', '--dashboard', '127.0.0.1:0']
    await OverlayProcess.start(t, [...args, '--name', 'first'], { cwd })
    const second = await runCli(['start', ...args, '--name', 'second', '--json'], { cwd, timeoutMs: 20_000 })
    assert.equal(second.code, 2, second.stderr) // a setup problem, like a bad config
    const error = JSON.parse(second.stdout.trim().split('\n').at(-1) ?? '{}') as JsonLine
    assert.equal(error.type, 'error')
    assert.equal(error.code, 'OVL_PEER_CACHE_LOCKED')
    assert.match(String(error.message), /in use by another process/)
  })

  it('a restarted node whose bootstrap node is gone reconnects from its peer cache', async (t) => {
    const cwd = await tempDir('overlay-cli-')
    const boot = await OverlayProcess.start(t, ['0', ...LOOPBACK, '--name', 'boot'], { cwd })
    const bootAddr = ['127.0.0.1', String(boot.ready.port)]
    const keeper = await OverlayProcess.start(t, ['0', ...bootAddr, ...LOOPBACK, '--name', 'keeper'], { cwd })
    const first = await OverlayProcess.start(t, ['0', ...bootAddr, ...LOOPBACK, '--name', 'returner'], { cwd })
    await first.next('peer:up', (l) => (l.peer as Peer).id === keeper.ready.nodeId, 10_000)
    first.write('exit\n')
    await first.waitExit()
    boot.kill('SIGKILL')
    await boot.waitExit()

    const restartedAt = performance.now()
    const again = await OverlayProcess.start(t, ['0', ...bootAddr, ...LOOPBACK, '--name', 'returner'], { cwd })
    assert.equal(again.ready.nodeId, first.ready.nodeId, 'same identity from its data directory')
    await again.next('peer:up', (l) => (l.peer as Peer).id === keeper.ready.nodeId, 10_000)
    t.diagnostic(`reconnected from the cache ${Math.round(performance.now() - restartedAt)} ms after the restart`)
  })
})

/** A config that keeps a node to one session (so messages to it must be routed). */
async function onePeerConfig(dir: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises')
  const file = `${dir}/one-peer.yaml`
  await writeFile(file, 'peers:\n  target: 1\n  max: 1\n')
  return file
}
