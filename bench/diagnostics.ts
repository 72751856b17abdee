/**
 * Section "diagnostics" (--diagnose): where the overlay's time goes, one layer
 * at a time, each measured with the same loops as the main figures:
 *
 *   tcp             plain TCP sockets, no TLS
 *   tcp+tls         the baseline (node:tls over TCP)
 *   udx             a bare UDX stream pair
 *   udx+port        the same in the product's UdxPort (what a session's channel runs on)
 *   udx+tls         node:tls to the end over the port, TLS configured as the product's (no framing,
 *                   no binding): the "UDX + node:tls, bare" reference, and how sessions
 *                   carried their data until sealed records replaced it
 *   session         the product's sessions without a node: connection setup, the TLS handshake,
 *                   sealed records, binding, framing, codec
 *   overlay         the full OverlayNode session (adds the node: dispatch, rate limits, liveness, counters)
 *
 * It also counts the major (mark-compact) GCs during each layer's bulk run:
 * large short-lived Buffers per message show up there first.
 *
 * For the layers that go through UdxPort it also counts writes into UDX
 * and UDX packets per payload during a 1 KiB message run.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import type { UDXStream } from 'udx-native'
import { UdxPort } from '../src/transport/udx-port.js'
import { TlsBaseline } from './baseline-tls.js'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import { TcpContender, UdxContender } from './layers.js'
import { runMemoryChild } from './memory.js'
import type { Contender } from './link.js'
import { measureEcho, measureSetup, measureStream, streamOn } from './measure.js'
import { OverlayNodeContender, OverlaySessionContender } from './overlay.js'
import { BULK_MESSAGE_BYTES, ECHO_BYTES, SMALL_MESSAGE_BYTES } from './session.js'
import { round, summarize } from './stats.js'
import { closeAll } from './wait.js'

interface WriteCounts {
  /** Writes into UDX through UdxPort, per payload, by the sending side. */
  udx_writes_per_payload: number
  bytes_per_udx_write: number
  /** UDX packets sent per payload: data (sender) and acknowledgements (receiver). */
  data_packets_per_payload: number
  ack_packets_per_payload: number
}

/** Counts UdxPort writes and UDX packets while `count` payloads of `bytes` go one way over a fresh link. */
async function countWrites(contender: Contender, bytes: number, count: number): Promise<WriteCounts> {
  const writes = new Map<UdxPort, { writes: number; bytes: number }>()
  const original = UdxPort.prototype.write
  UdxPort.prototype.write = function (this: UdxPort, chunk: Buffer): boolean {
    const entry = writes.get(this) ?? { writes: 0, bytes: 0 }
    entry.writes++
    entry.bytes += chunk.length
    writes.set(this, entry)
    return original.call(this, chunk)
  }
  try {
    const link = await contender.dial()
    try {
      const payload = contender.payload(bytes)
      await streamOn(link, payload, bytes, Math.ceil(count / 10), contender.label)
      const packets = (stream: UDXStream): number => stream.packetsTransmitted
      const ports = [...writes.keys()]
      const before = new Map(ports.map((d) => [d, { ...(writes.get(d) as { writes: number; bytes: number }), packets: packets(d.udx) }]))
      await streamOn(link, payload, bytes, count, contender.label)
      const deltas = ports.map((d) => {
        const now = writes.get(d) as { writes: number; bytes: number }
        const then = before.get(d) as { writes: number; bytes: number; packets: number }
        return { writes: now.writes - then.writes, bytes: now.bytes - then.bytes, packets: packets(d.udx) - then.packets }
      })
      deltas.sort((x, y) => y.bytes - x.bytes)
      const sender = deltas[0] ?? { writes: 0, bytes: 0, packets: 0 }
      const receiver = deltas[1] ?? { writes: 0, bytes: 0, packets: 0 }
      return {
        udx_writes_per_payload: round(sender.writes / count, 3),
        bytes_per_udx_write: round(sender.bytes / Math.max(1, sender.writes), 4),
        data_packets_per_payload: round(sender.packets / count, 3),
        ack_packets_per_payload: round(receiver.packets / count, 3),
      }
    } finally {
      await link.close()
    }
  } finally {
    UdxPort.prototype.write = original
  }
}

interface LayerFigures {
  setup_ms: number
  echo_p50_us: number
  echo_p99_us: number
  msgs_per_s: number
  bulk_mb_s: number
  bulk_major_gcs: number
  mem_kib_per_session?: number
  mem_external_kib_per_session?: number
}

/** Major (mark-compact) GCs while `run` runs. */
async function countMajorGcs<T>(run: () => Promise<T>): Promise<{ result: T; majorGcs: number }> {
  let majorGcs = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++
  })
  observer.observe({ entryTypes: ['gc'] })
  try {
    const result = await run()
    await new Promise((resolve) => setImmediate(resolve)) // gc entries are delivered asynchronously
    return { result, majorGcs }
  } finally {
    observer.disconnect()
  }
}

async function measureLayer(ctx: BenchContext, contender: Contender): Promise<LayerFigures> {
  const { scale } = ctx
  ctx.progress(`diagnostics: ${contender.label}`)
  await measureSetup(contender, 3)
  const setup = summarize(await measureSetup(contender, Math.ceil(scale.setupDials / 4)))
  const echo = summarize(await measureEcho(contender, ECHO_BYTES, scale.echoWarmup, scale.echoRoundTrips))
  const small = await measureStream(contender, SMALL_MESSAGE_BYTES, scale.smallMessages, Math.ceil(scale.smallMessages / 10))
  const bulkCount = Math.ceil(scale.bulkBytes / 2 / BULK_MESSAGE_BYTES)
  const { result: bulk, majorGcs } = await countMajorGcs(() => measureStream(contender, BULK_MESSAGE_BYTES, bulkCount, Math.ceil(bulkCount / 10)))
  return {
    setup_ms: round(setup.p50),
    echo_p50_us: round(echo.p50),
    echo_p99_us: round(echo.p99),
    msgs_per_s: round(small.payloadsPerSecond),
    bulk_mb_s: round(bulk.megabytesPerSecond),
    bulk_major_gcs: majorGcs,
  }
}

export const diagnosticsSection: BenchSection = {
  name: 'diagnostics',
  title: 'Diagnostics: the same figures layer by layer',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const layers: Record<string, LayerFigures> = {}
    const counts: Record<string, WriteCounts> = {}
    const make: Array<() => Promise<Contender>> = [
      () => new TcpContender().start(),
      () => TlsBaseline.start(ctx.fixture),
      async () => new UdxContender('bare', ctx.fixture),
      async () => new UdxContender('port', ctx.fixture),
      async () => new UdxContender('tls', ctx.fixture),
      async () => new UdxContender('secret-stream', ctx.fixture),
      async () => new OverlaySessionContender(ctx.fixture),
      () => OverlayNodeContender.start(ctx.fixture),
    ]
    for (const start of make) {
      const contender = await start()
      try {
        const name = layerName(contender)
        layers[name] = await measureLayer(ctx, contender)
        if (name === 'udx+tls' || name === 'session' || name === 'overlay') counts[name] = await countWrites(contender, SMALL_MESSAGE_BYTES, Math.min(scale(ctx), 20_000))
      } finally {
        await closeAll([contender])
      }
    }
    for (const kind of ['tcp', 'baseline', 'udx', 'udx+port', 'udx+tls', 'udx+secret-stream', 'overlay'] as const) {
      ctx.progress(`diagnostics: memory, ${kind}`)
      const report = await runMemoryChild(kind, ctx.fixture.dir, ctx.scale.memorySessions)
      // The memory child's 'overlay' kind is sessions without a node (as in the memory section).
      const layer = layers[kind === 'baseline' ? 'node:tls over TCP' : kind === 'overlay' ? 'session' : kind]
      if (layer) Object.assign(layer, { mem_kib_per_session: round(report.rss_kib), mem_external_kib_per_session: round(report.external_kib) })
    }
    const keys = ['setup_ms', 'echo_p50_us', 'echo_p99_us', 'msgs_per_s', 'bulk_mb_s', 'bulk_major_gcs', 'mem_kib_per_session', 'mem_external_kib_per_session'] as const
    const names = Object.keys(layers)
    const width = Math.max(...names.map((n) => n.length))
    const notes = [
      `${'layer'.padEnd(width)}${keys.map((k) => column(k).padStart(column(k).length + 2)).join('')}`,
      ...names.map((name) => `${name.padEnd(width)}${keys.map((k) => String(layers[name]?.[k] ?? '-').padStart(column(k).length + 2)).join('')}`),
      ...Object.entries(counts).map(([name, c]) => `${name}: per ${SMALL_MESSAGE_BYTES} B payload ${c.udx_writes_per_payload} UDX writes of ${c.bytes_per_udx_write} B, ${c.data_packets_per_payload} data packets, ${c.ack_packets_per_payload} ack packets`),
    ]
    return { figures: [], data: { layers, write_counts: counts }, notes }
  },
}

/** A column heading: the key without its per-session suffix, at least 12 wide. */
function column(key: string): string {
  return key.replace('_per_session', '').padStart(12)
}

function layerName(contender: Contender): string {
  if (contender instanceof OverlayNodeContender) return 'overlay'
  if (contender instanceof OverlaySessionContender) return 'session'
  return contender.label
}

function scale(ctx: BenchContext): number {
  return ctx.scale.smallMessages
}
