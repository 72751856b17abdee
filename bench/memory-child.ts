/**
 * Child process of the memory section (run with --expose-gc): opens N links of
 * one kind with both ends in this process and prints what they cost as one
 * JSON line on stdout. One process per kind, so neither pollutes the other's
 * heap.
 *
 *   node --import tsx --expose-gc bench/memory-child.ts <kind> <fixture dir> <count> [echo bytes]
 *
 * Kinds: baseline, overlay (sessions), overlay-node (idle nodes), and the
 * diagnostics' layers: tcp, udx, udx+port, udx+tls, udx+secret-stream.
 */
import v8 from 'node:v8'
import { OverlayNode } from '../src/node/node.js'
import { TlsBaseline } from './baseline-tls.js'
import { loadFixture, type Fixture } from './fixture.js'
import { TcpContender, UdxContender } from './layers.js'
import type { Contender, Link } from './link.js'
import { echoOn } from './measure.js'
import { OverlaySessionContender } from './overlay.js'
import { closeAll, mapLimit, withCleanup } from './wait.js'

const LINK_KINDS = {
  baseline: (fixture: Fixture): Promise<Contender> => TlsBaseline.start(fixture),
  overlay: async (fixture: Fixture): Promise<Contender> => new OverlaySessionContender(fixture),
  tcp: (): Promise<Contender> => new TcpContender().start(),
  udx: async (fixture: Fixture): Promise<Contender> => new UdxContender('bare', fixture),
  'udx+port': async (fixture: Fixture): Promise<Contender> => new UdxContender('port', fixture),
  'udx+tls': async (fixture: Fixture): Promise<Contender> => new UdxContender('tls', fixture),
  'udx+secret-stream': async (fixture: Fixture): Promise<Contender> => new UdxContender('secret-stream', fixture),
}

export type LinkKind = keyof typeof LINK_KINDS
export type MemoryKind = LinkKind | 'overlay-node'

function isKind(kind: string | undefined): kind is MemoryKind {
  return kind === 'overlay-node' || (kind !== undefined && Object.hasOwn(LINK_KINDS, kind))
}

export interface MemoryReport {
  kind: MemoryKind
  count: number
  /** Size of the one echo each session carried before the measurement. */
  echo_bytes: number
  gc: boolean
  /** RSS growth per link, less young_kib: what the open links hold (the memory figure). */
  rss_kib: number
  /** RSS growth per link as measured, V8's young generation included. */
  rss_raw_kib: number
  /**
   * Growth of V8's young generation (new space) per link. V8 sizes it by the
   * allocation rate, not by what is live (up to 16 MiB per semi-space), and
   * it stays grown: if a child's burst of dials happens to trigger that inside
   * the window, its RSS grows by megabytes no link holds.
   */
  young_kib: number
  heap_used_kib: number
  external_kib: number
  array_buffers_kib: number
  rss_before_kib: number
  rss_after_kib: number
}

const DIAL_CONCURRENCY = 8
const WARMUP_LINKS = 10
const DEFAULT_ECHO_BYTES = 64

const gc = (globalThis as { gc?: () => void }).gc

async function settle(): Promise<void> {
  // Several passes: finalizers of native handles free more on the next one.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc?.()
  }
}

interface Usage extends NodeJS.MemoryUsage {
  /** Bytes of V8's young generation in memory. */
  young: number
}

function usage(): Usage {
  const young = v8
    .getHeapSpaceStatistics()
    .filter((space) => space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
    .reduce((sum, space) => sum + space.physical_space_size, 0)
  return { ...process.memoryUsage(), young }
}

/** Opens `count` links, each carrying one echo of `echoBytes`, so both directions of every session have been used. */
async function openLinks(contender: Contender, count: number, echoBytes: number): Promise<Link[]> {
  const payload = contender.payload(echoBytes)
  return mapLimit(Array.from({ length: count }), DIAL_CONCURRENCY, async () => {
    const link = await contender.dial()
    await echoOn(link, payload, echoBytes, 0, 1, contender.label)
    return link
  })
}

async function measureLinks(contender: Contender, count: number, echoBytes: number): Promise<{ before: Usage; after: Usage }> {
  const warm = await openLinks(contender, WARMUP_LINKS, echoBytes)
  await Promise.all(warm.map((link) => link.close()))
  await settle()
  const before = usage()
  const links = await openLinks(contender, count, echoBytes)
  await settle()
  const after = usage()
  await Promise.all(links.map((link) => link.close()))
  return { before, after }
}

/** Idle nodes: what each OverlayNode costs before it has any session (its UDX instance and socket). */
async function measureNodes(fixture: Fixture, count: number): Promise<{ before: Usage; after: Usage }> {
  const make = (): OverlayNode => new OverlayNode({ host: '127.0.0.1', identity: fixture.client.identity, credentials: fixture.client.credentials })
  const warm = make()
  await warm.start()
  await warm.stop()
  await settle()
  const before = usage()
  const nodes = Array.from({ length: count }, make)
  return withCleanup(async () => {
    for (const node of nodes) await node.start()
    await settle()
    return { before, after: usage() }
  }, () => Promise.all(nodes.map((node) => node.stop())))
}

async function main(argv: string[]): Promise<MemoryReport> {
  const [kind, dir, countText, echoText] = argv
  const count = Number(countText)
  const echoBytes = echoText === undefined ? DEFAULT_ECHO_BYTES : Number(echoText)
  if (!isKind(kind) || !dir || !Number.isInteger(count) || count < 1 || !Number.isInteger(echoBytes) || echoBytes < 1) {
    throw new Error(`usage: memory-child.ts <${[...Object.keys(LINK_KINDS), 'overlay-node'].join('|')}> <fixture dir> <count> [echo bytes]`)
  }
  const fixture = await loadFixture(dir)
  let measured: { before: Usage; after: Usage }
  if (kind === 'overlay-node') {
    measured = await measureNodes(fixture, count)
  } else {
    let contender: Contender | null = null
    measured = await withCleanup(async () => {
      contender = await LINK_KINDS[kind](fixture)
      return measureLinks(contender, count, echoBytes)
    }, () => closeAll([contender]))
  }
  const { before, after } = measured
  const perKib = (field: keyof Usage): number => (after[field] - before[field]) / count / 1024
  return {
    kind,
    count,
    echo_bytes: kind === 'overlay-node' ? 0 : echoBytes,
    gc: gc !== undefined,
    rss_kib: perKib('rss') - perKib('young'),
    rss_raw_kib: perKib('rss'),
    young_kib: perKib('young'),
    heap_used_kib: perKib('heapUsed'),
    external_kib: perKib('external'),
    array_buffers_kib: perKib('arrayBuffers'),
    rss_before_kib: Math.round(before.rss / 1024),
    rss_after_kib: Math.round(after.rss / 1024),
  }
}

try {
  const report = await main(process.argv.slice(2))
  process.stdout.write(`${JSON.stringify(report)}\n`)
} catch (err) {
  process.stderr.write(`memory-child: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
}
