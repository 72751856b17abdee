/**
 * Does a resource grow without bound? A trend test on one series of samples
 * (time, value) over a window, normally the second half of the soak, when
 * start-up (JIT, caches filling, sessions opening) is over.
 *
 * The slope is Theil-Sen's (the median of the slopes between every pair of
 * samples): robust to the odd outlier (a GC that ran late, a burst of
 * traffic), unlike least squares. The projected growth over the window,
 * slope x window length, must stay within a tolerance:
 *
 *   allowed = max(absolute, relative x median level in the window)
 *
 * A bounded resource that has settled has a slope near zero; one that is
 * still filling up towards its bound (an LRU cache) grows less and less, and
 * stays within the tolerance unless it is large; a leak grows in proportion
 * to the window, so a longer soak sees a smaller leak. What a window of W
 * seconds can see: leaks faster than allowed / W per second.
 */

export interface Tolerance {
  /** Growth over the window always allowed (the metric's own unit). */
  absolute: number
  /** Growth allowed as a share of the median level in the window (0.1: 10 %). */
  relative: number
}

export interface TrendResult {
  /** Samples in the window. */
  samples: number
  /** Median value in the window. */
  level: number
  first: number
  last: number
  /** Theil-Sen slope, per second. */
  slopePerS: number
  /** slopePerS x window length: the growth the trend predicts over the window. */
  growth: number
  allowed: number
  ok: boolean
  /** Why it failed, or why it could not be judged. */
  reason: string | null
}

export interface Point {
  /** Seconds. */
  t: number
  v: number
}

/** Fewer samples than this in the window cannot show a trend: that is a failure, not a pass. */
export const MIN_TREND_SAMPLES = 6

/** Pairs used for the median slope at most (samples are thinned evenly beyond this many). */
const MAX_POINTS = 400

export function theilSenSlope(points: readonly Point[]): number {
  const pts = thin(points, MAX_POINTS)
  const slopes: number[] = []
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const a = pts[i] as Point
      const b = pts[j] as Point
      if (b.t !== a.t) slopes.push((b.v - a.v) / (b.t - a.t))
    }
  }
  if (slopes.length === 0) return 0
  return median(slopes)
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function thin(points: readonly Point[], max: number): readonly Point[] {
  if (points.length <= max) return points
  const step = points.length / max
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * step)] as Point)
}

/** The trend of `points` between `from` and `to` (seconds), judged against `tolerance`. */
export function trend(points: readonly Point[], from: number, to: number, tolerance: Tolerance): TrendResult {
  const inWindow = points.filter((p) => p.t >= from && p.t <= to && Number.isFinite(p.v))
  const level = median(inWindow.map((p) => p.v))
  const allowed = Math.max(tolerance.absolute, tolerance.relative * Math.abs(Number.isNaN(level) ? 0 : level))
  const base = { samples: inWindow.length, level, first: inWindow[0]?.v ?? Number.NaN, last: inWindow.at(-1)?.v ?? Number.NaN, allowed }
  if (inWindow.length < MIN_TREND_SAMPLES) {
    return { ...base, slopePerS: Number.NaN, growth: Number.NaN, ok: false, reason: `only ${inWindow.length} samples in the window (at least ${MIN_TREND_SAMPLES} needed to judge a trend)` }
  }
  const slopePerS = theilSenSlope(inWindow)
  const growth = slopePerS * (to - from)
  const ok = growth <= allowed
  return { ...base, slopePerS, growth, ok, reason: ok ? null : `grows ${fmt(growth)} over the window (${fmt(slopePerS * 3600)} per hour), more than the ${fmt(allowed)} allowed` }
}

function fmt(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)
}
