/** Order statistics for benchmark samples. */

/** The p-th percentile (0-100) of `sorted` (ascending), nearest-rank: always a value that was measured. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples')
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number
}

export function sortedCopy(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b)
}

export interface Summary {
  count: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = sortedCopy(samples)
  const sum = sorted.reduce((acc, x) => acc + x, 0)
  return {
    count: sorted.length,
    min: sorted[0] as number,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    mean: sum / sorted.length,
  }
}

export function median(samples: readonly number[]): number {
  return percentile(sortedCopy(samples), 50)
}

/** Rounds to `digits` significant digits: figures in the JSON keep what the measurement supports. */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value
  return Number(value.toPrecision(digits))
}

/** mulberry32: reproducible random choices (which node broadcasts, when one is killed), from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
