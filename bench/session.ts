/**
 * Section "session": what one session costs and carries, overlay against the
 * TCP+TLS baseline. Setup time, 64-byte echo latency, 1 KiB message rate and
 * bulk throughput. Both contenders run side by side in this process; within
 * each trial their order alternates so slow drift of a noisy machine does not
 * always land on the same one.
 */
import { TlsBaseline } from './baseline-tls.js'
import type { BenchContext, BenchSection, Figure, SectionResult } from './harness.js'
import type { Contender } from './link.js'
import { measureEcho, measureSetup, measureStream, type StreamResult } from './measure.js'
import { OverlayNodeContender } from './overlay.js'
import { median, round, summarize } from './stats.js'
import { closeAll, withCleanup } from './wait.js'

export const ECHO_BYTES = 64
export const SMALL_MESSAGE_BYTES = 1024
/** The largest Chat text (its length field is 16 bits), well under the 1 MiB frame limit. */
export const BULK_MESSAGE_BYTES = 65_535
/** Dials before the timed ones: JIT, TLS contexts, first allocations. */
const SETUP_WARMUP_DIALS = 5

interface PerContender<T> {
  baseline: T
  overlay: T
}

/** Runs `measure` on both contenders `trials` times, alternating which goes first. */
async function both<T>(ctx: BenchContext, contenders: PerContender<Contender>, trials: number, what: string, measure: (c: Contender) => Promise<T>): Promise<PerContender<T[]>> {
  const out: PerContender<T[]> = { baseline: [], overlay: [] }
  for (let trial = 0; trial < trials; trial++) {
    const order: Array<'baseline' | 'overlay'> = trial % 2 === 0 ? ['baseline', 'overlay'] : ['overlay', 'baseline']
    for (const side of order) {
      ctx.progress(`${what}: ${side}${trials > 1 ? ` (trial ${trial + 1}/${trials})` : ''}`)
      out[side].push(await measure(contenders[side]))
    }
  }
  return out
}

function split(total: number, parts: number): number {
  return Math.max(1, Math.ceil(total / parts))
}

export const sessionSection: BenchSection = {
  name: 'session',
  title: 'One session: setup, echo latency, message rate, bulk throughput (loopback)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { scale } = ctx
    let baseline: TlsBaseline | null = null
    let overlay: OverlayNodeContender | null = null
    return withCleanup(async () => {
      baseline = await TlsBaseline.start(ctx.fixture)
      overlay = await OverlayNodeContender.start(ctx.fixture)
      const contenders = { baseline, overlay }

      await both(ctx, contenders, 1, 'setup warm-up', (c) => measureSetup(c, SETUP_WARMUP_DIALS))
      const setup = await both(ctx, contenders, scale.trials, `setup (${scale.setupDials} dials)`, (c) => measureSetup(c, split(scale.setupDials, scale.trials)))
      const echo = await both(ctx, contenders, scale.trials, `echo (${scale.echoRoundTrips} round trips of ${ECHO_BYTES} B)`, (c) =>
        measureEcho(c, ECHO_BYTES, split(scale.echoWarmup, scale.trials), split(scale.echoRoundTrips, scale.trials)),
      )
      const small = await both(ctx, contenders, scale.trials, `${scale.smallMessages} messages of ${SMALL_MESSAGE_BYTES} B`, (c) =>
        measureStream(c, SMALL_MESSAGE_BYTES, scale.smallMessages, Math.ceil(scale.smallMessages / 10)),
      )
      const bulkCount = Math.ceil(scale.bulkBytes / BULK_MESSAGE_BYTES)
      const bulk = await both(ctx, contenders, scale.trials, `bulk ${Math.round(scale.bulkBytes / 2 ** 20)} MiB in ${BULK_MESSAGE_BYTES} B messages`, (c) =>
        measureStream(c, BULK_MESSAGE_BYTES, bulkCount, Math.ceil(bulkCount / 10)),
      )

      const setupStats = { baseline: summarize(setup.baseline.flat()), overlay: summarize(setup.overlay.flat()) }
      const echoStats = { baseline: summarize(echo.baseline.flat()), overlay: summarize(echo.overlay.flat()) }
      const rate = (results: StreamResult[]): number => median(results.map((r) => r.payloadsPerSecond))
      const mbps = (results: StreamResult[]): number => median(results.map((r) => r.megabytesPerSecond))

      const figures: Figure[] = [
        { key: 'setup_ms', label: `setup, median of ${setupStats.baseline.count} dials (ms)`, better: 'lower', headline: true, target: { max: 2 }, baseline: round(setupStats.baseline.p50), overlay: round(setupStats.overlay.p50) },
        { key: 'setup_p99_ms', label: 'setup, p99 (ms)', better: 'lower', baseline: round(setupStats.baseline.p99), overlay: round(setupStats.overlay.p99) },
        { key: 'echo_p50_us', label: `echo ${ECHO_BYTES} B round trip, p50 (us)`, better: 'lower', headline: true, target: { max: 1.27 }, baseline: round(echoStats.baseline.p50), overlay: round(echoStats.overlay.p50) },
        { key: 'echo_p99_us', label: `echo ${ECHO_BYTES} B round trip, p99 (us)`, better: 'lower', headline: true, baseline: round(echoStats.baseline.p99), overlay: round(echoStats.overlay.p99) },
        { key: 'echo_p90_us', label: 'echo, p90 (us)', better: 'lower', baseline: round(echoStats.baseline.p90), overlay: round(echoStats.overlay.p90) },
        { key: 'msgs_per_s', label: `${SMALL_MESSAGE_BYTES} B messages one way (msg/s)`, better: 'higher', headline: true, target: { min: 0.25 }, baseline: round(rate(small.baseline)), overlay: round(rate(small.overlay)) },
        { key: 'bulk_mb_s', label: `bulk one way, ${BULK_MESSAGE_BYTES} B writes (MB/s)`, better: 'higher', headline: true, target: { min: 0.18 }, baseline: round(mbps(bulk.baseline)), overlay: round(mbps(bulk.overlay)) },
      ]
      const trialValues = (results: StreamResult[], pick: (r: StreamResult) => number): number[] => results.map((r) => round(pick(r)))
      return {
        figures,
        data: {
          setup_ms: setupStats,
          echo_us: echoStats,
          msgs_per_s_trials: { baseline: trialValues(small.baseline, (r) => r.payloadsPerSecond), overlay: trialValues(small.overlay, (r) => r.payloadsPerSecond) },
          bulk_mb_s_trials: { baseline: trialValues(bulk.baseline, (r) => r.megabytesPerSecond), overlay: trialValues(bulk.overlay, (r) => r.megabytesPerSecond) },
          bulk_bytes_per_trial: bulkCount * BULK_MESSAGE_BYTES,
          small_messages_per_trial: scale.smallMessages,
          payload_bytes: { echo: ECHO_BYTES, small: SMALL_MESSAGE_BYTES, bulk: BULK_MESSAGE_BYTES },
        },
      }
    }, () => closeAll([baseline, overlay]))
  },
}
