/**
 * The benchmark's contracts. A run is a list of sections; each section measures
 * something and returns named figures, for the overlay and, where there is one,
 * for the TCP+TLS baseline. run.ts merges every section's figures into one
 * `baseline` and one `overlay` object, computes overlay/baseline ratios and
 * checks them against the targets the figures carry.
 *
 * To add a section (broadcast propagation, failure detection, ...): write a
 * module exporting a BenchSection and add it to SECTIONS in run.ts.
 */
import type { Fixture } from './fixture.js'

export type Side = 'baseline' | 'overlay'

/** A limit on overlay/baseline: `max` for figures where lower is better, `min` where higher is better. */
export interface RatioTarget {
  max?: number
  min?: number
}

export interface Figure {
  /** The JSON key: snake_case with the unit last (setup_ms, bulk_mb_s). */
  key: string
  /** One line for the table. */
  label: string
  better: 'lower' | 'higher'
  baseline?: number
  overlay?: number
  target?: RatioTarget
  /** false: the two values are not comparable (no ratio is computed). */
  compare?: boolean
  /** Shown in the main table (the rest is in the JSON and the detail table). */
  headline?: boolean
}

export interface SectionResult {
  figures: Figure[]
  /** Anything else worth keeping in the JSON under sections.<name>.data (per-trial values, counts). */
  data?: Record<string, unknown>
  /** Extra lines printed after the section's part of the table. */
  notes?: string[]
}

export interface Scale {
  /** --quick: smaller counts, the whole run well under a minute. */
  quick: boolean
  /** Independent trials of each throughput figure (the median is reported). */
  trials: number
  setupDials: number
  echoWarmup: number
  echoRoundTrips: number
  smallMessages: number
  bulkBytes: number
  memorySessions: number
  signatures: number
}

export interface BenchContext {
  scale: Scale
  fixture: Fixture
  /** Progress for people watching: stderr, never the table on stdout. */
  progress(message: string): void
}

export interface BenchSection {
  name: string
  title: string
  run(ctx: BenchContext): Promise<SectionResult>
}

/** About a minute on a 2-core VM. */
export const FULL_SCALE: Scale = {
  quick: false,
  trials: 3,
  setupDials: 300,
  echoWarmup: 2_000,
  echoRoundTrips: 20_000,
  smallMessages: 200_000,
  bulkBytes: 512 * 2 ** 20,
  memorySessions: 200,
  signatures: 5_000,
}

/** About 10 s: for CI, where the figures only have to be produced, not be precise. */
export const QUICK_SCALE: Scale = {
  quick: true,
  trials: 1,
  setupDials: 30,
  echoWarmup: 300,
  echoRoundTrips: 2_000,
  smallMessages: 20_000,
  bulkBytes: 64 * 2 ** 20,
  memorySessions: 100,
  signatures: 300,
}
