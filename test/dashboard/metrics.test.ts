// /metrics: Prometheus text from a real client library, on a per-node
// registry, whose counters move with real traffic between real nodes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { register as globalRegistry } from 'prom-client'
import { MessageType } from '../../src/messaging/messages.js'
import { MANUAL, startNodes, wire } from '../helpers/network.js'
import { UdpProxy } from '../helpers/udp-proxy.js'
import { nextEvent, until } from '../helpers/wait.js'
import { request } from './support/http.js'
import { access, operatorFor } from './support/operator.js'
import { parsePromText, valueOf, type Family } from './support/prom-text.js'

async function scrape(port: number, bearer: Record<string, string>): Promise<Map<string, Family>> {
  const reply = await request({ port, path: '/metrics', headers: bearer })
  assert.equal(reply.status, 200)
  assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  return parsePromText(reply.body)
}

const FAMILIES: Record<string, string> = {
  overlay_node_info: 'gauge',
  overlay_sessions: 'gauge',
  overlay_peer_cache_entries: 'gauge',
  overlay_bytes_total: 'counter',
  overlay_frames_total: 'counter',
  overlay_messages_received_total: 'counter',
  overlay_direct_messages_total: 'counter',
  overlay_broadcasts_total: 'counter',
  overlay_heartbeat_rtt_seconds: 'histogram',
  overlay_heartbeats_missed_total: 'counter',
  overlay_peers_declared_down_total: 'counter',
  overlay_rejected_inputs_total: 'counter',
  overlay_punch_attempts_total: 'counter',
  overlay_relay_circuits_total: 'counter',
  overlay_relay_circuits_active: 'gauge',
  overlay_relay_bytes_total: 'counter',
  overlay_warnings_active: 'gauge',
  overlay_warnings_total: 'counter',
}

describe('/metrics', () => {
  it('is Prometheus text with every documented family, punch and relay figures at zero from the start', async (t) => {
    const [node] = await startNodes(t, 1, MANUAL)
    const operator = await operatorFor(t, node!, { metrics: { process: true } })
    const families = await scrape(access(operator).port, access(operator).bearer)
    for (const [name, type] of Object.entries(FAMILIES)) assert.equal(families.get(name)?.type, type, name)
    assert.ok(families.has('process_resident_memory_bytes'), 'process metrics when asked for')
    assert.equal(valueOf(families, 'overlay_node_info', { node_id: node!.nodeId, name: 'n0' }), 1)
    for (const link of ['direct', 'punched', 'upnp', 'relayed']) assert.equal(valueOf(families, 'overlay_sessions', { link }), 0)
    for (const outcome of ['success', 'failure', 'timeout']) assert.equal(valueOf(families, 'overlay_punch_attempts_total', { outcome }), 0)
    assert.equal(valueOf(families, 'overlay_relay_circuits_active', { role: 'server' }), 0)
  })

  it('moves with traffic: sessions, bytes, frames, messages by type, direct and broadcast, round trips, rejected inputs', async (t) => {
    const nodes = await startNodes(t, 2, (i) => ({ ...MANUAL, limits: { messagesPerSecond: i === 0 ? 20 : 2_000 } }))
    const [a, b] = nodes as [NonNullable<(typeof nodes)[0]>, NonNullable<(typeof nodes)[0]>]
    const operator = await operatorFor(t, a)
    const { port, bearer } = access(operator)
    const before = await scrape(port, bearer)
    assert.equal(valueOf(before, 'overlay_sessions', { link: 'direct' }), 0)

    await wire(nodes, [[1, 0]])
    await nextEvent(a, 'heartbeat:rtt')
    for (let i = 0; i < 5; i++) await b.send(a.nodeId, `message ${i}`)
    const broadcast = nextEvent(a, 'chat', (chat: { broadcast: boolean }) => chat.broadcast)
    b.broadcast('to everyone')
    await broadcast
    // Over a's limit of 20 a second (burst 40): the rest is dropped as rate-limited.
    const session = b.session(a.nodeId)!
    for (let i = 0; i < 100; i++) session.send({ type: MessageType.Chat, id: 0, text: 'flood' })
    await until(() => (a.stats().rejected['rate-limited'] ?? 0) > 0, 5_000, 'a to drop the flood')

    const after = await scrape(port, bearer)
    const grew = (name: string, labels: Record<string, string> = {}) => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0)
    assert.equal(valueOf(after, 'overlay_sessions', { link: 'direct' }), 1)
    assert.equal(grew('overlay_sessions_opened_total'), 1)
    assert.ok(grew('overlay_bytes_total', { direction: 'in' }) > 0 && grew('overlay_bytes_total', { direction: 'out' }) > 0)
    assert.ok(grew('overlay_frames_total', { direction: 'in' }) >= 6)
    assert.ok((valueOf(after, 'overlay_messages_received_total', { type: 'chat' }) ?? 0) >= 5, 'the direct messages, by type')
    assert.ok((valueOf(after, 'overlay_messages_received_total', { type: 'hello' }) ?? 0) >= 1)
    assert.equal(valueOf(after, 'overlay_direct_messages_total', { event: 'received' }), a.stats().direct.received)
    assert.ok(grew('overlay_direct_messages_total', { event: 'received' }) >= 5)
    assert.equal(valueOf(after, 'overlay_broadcasts_total', { event: 'delivered' }), 1)
    assert.ok((valueOf(after, 'overlay_heartbeat_rtt_seconds_count') ?? 0) >= 1, 'round trips in the histogram')
    assert.ok((valueOf(after, 'overlay_heartbeat_rtt_seconds_sum') ?? 0) > 0)
    assert.equal(valueOf(after, 'overlay_rejected_inputs_total', { reason: 'rate-limited' }), a.stats().rejected['rate-limited'])
    assert.equal(valueOf(after, 'overlay_peer_cache_entries'), a.stats().knownPeers)
  })

  it('counts missed heartbeats and a peer declared down', async (t) => {
    const [a, b] = (await startNodes(t, 2, MANUAL)) as [Awaited<ReturnType<typeof startNodes>>[0], Awaited<ReturnType<typeof startNodes>>[0]]
    const operator = await operatorFor(t, a)
    const proxy = await UdpProxy.start(t, b.address)
    await a.connect(proxy.address)
    await nextEvent(a, 'heartbeat:rtt')
    const down = nextEvent(a, 'heartbeat:down')
    proxy.cut()
    await down
    const families = await scrape(access(operator).port, access(operator).bearer)
    assert.equal(valueOf(families, 'overlay_peers_declared_down_total'), 1)
    assert.ok((valueOf(families, 'overlay_heartbeats_missed_total') ?? 0) >= 1)
    assert.equal(valueOf(families, 'overlay_sessions', { link: 'direct' }), 0)
    assert.equal(valueOf(families, 'overlay_sessions_closed_total'), 1)
  })

  it('keeps a registry per node: two nodes in one process do not collide, and the global registry stays empty', async (t) => {
    const nodes = await startNodes(t, 2, MANUAL)
    const [one, two] = await Promise.all(nodes.map((n) => operatorFor(t, n!)))
    const first = await scrape(access(one!).port, access(one!).bearer)
    const second = await scrape(access(two!).port, access(two!).bearer)
    assert.equal(valueOf(first, 'overlay_node_info', { node_id: nodes[0]!.nodeId, name: 'n0' }), 1)
    assert.equal(valueOf(second, 'overlay_node_info', { node_id: nodes[1]!.nodeId, name: 'n1' }), 1)
    assert.equal(valueOf(first, 'overlay_node_info', { node_id: nodes[1]!.nodeId, name: 'n1' }), undefined)
    assert.deepEqual((await globalRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('overlay_')), [])
  })

  it('takes punch and relay reports through its API (for issue 4)', async (t) => {
    const [node] = await startNodes(t, 1, MANUAL)
    const operator = await operatorFor(t, node!)
    const { metrics } = operator
    metrics.punch('success')
    metrics.punch('timeout')
    metrics.punch('success')
    metrics.relay('client', 'opened')
    metrics.relay('server', 'opened')
    metrics.relay('server', 'opened')
    metrics.relay('server', 'closed')
    metrics.relay('server', 'refused')
    metrics.relayBytes('server', 1500)
    const families = await scrape(access(operator).port, access(operator).bearer)
    assert.equal(valueOf(families, 'overlay_punch_attempts_total', { outcome: 'success' }), 2)
    assert.equal(valueOf(families, 'overlay_punch_attempts_total', { outcome: 'timeout' }), 1)
    assert.equal(valueOf(families, 'overlay_relay_circuits_total', { role: 'server', event: 'opened' }), 2)
    assert.equal(valueOf(families, 'overlay_relay_circuits_total', { role: 'server', event: 'refused' }), 1)
    assert.equal(valueOf(families, 'overlay_relay_circuits_active', { role: 'server' }), 1)
    assert.equal(valueOf(families, 'overlay_relay_circuits_active', { role: 'client' }), 1)
    assert.equal(valueOf(families, 'overlay_relay_bytes_total', { role: 'server' }), 1500)
  })
})
