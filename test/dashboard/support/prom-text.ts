/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4),
 * to check what /metrics serves: every line must be a HELP, TYPE, comment,
 * blank or sample line; names, label sets, escapes and values must be well
 * formed; a family's samples must be contiguous and follow its TYPE; no
 * series twice; counters not negative; histogram buckets cumulative, ending
 * in le="+Inf" equal to _count. Anything else throws, naming the line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: MetricType
  help: string | null
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count', ''] }

export class PromTextError extends Error {}

export function parsePromText(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: Family | null = null
  if (text.length > 0 && !text.endsWith('\n')) throw new PromTextError('the text must end with a newline')
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new PromTextError(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`)
    }
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
      if (meta === null) return // an ordinary comment
      const [, kind, name, rest = ''] = meta as unknown as [string, 'HELP' | 'TYPE', string, string | undefined]
      if (!NAME.test(name)) fail('bad metric name')
      if (closed.has(name)) fail(`${name} appears again after other families`)
      let family = families.get(name)
      if (family === undefined) {
        family = { name, type: 'untyped', help: null, samples: [] }
        families.set(name, family)
      }
      if (current !== null && current !== family) closed.add(current.name)
      current = family
      if (kind === 'HELP') {
        if (family.help !== null) fail('a second HELP')
        family.help = unescape(rest, false, fail)
      } else {
        if (!TYPES.has(rest)) fail('unknown TYPE')
        if (family.samples.length > 0 || family.type !== 'untyped') fail('TYPE after samples, or twice')
        family.type = rest as MetricType
      }
      return
    }
    const sample = parseSample(line, fail)
    const family = familyOf(sample.name, current, families)
    if (family === null) {
      if (closed.has(sample.name) || families.has(sample.name)) fail('samples of a family are not contiguous')
      const untyped: Family = { name: sample.name, type: 'untyped', help: null, samples: [sample] }
      if (current !== null) closed.add(current.name)
      families.set(sample.name, untyped)
      current = untyped
    } else {
      if (family !== current) fail('samples of a family are not contiguous')
      family.samples.push(sample)
    }
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (series.has(key)) fail('the same series twice')
    series.add(key)
    if (family?.type === 'counter' && !(sample.value >= 0)) fail('a counter below zero')
  })
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family)
  return families
}

/** The value of one series (labels must match exactly), or undefined. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue
      const keys = Object.keys(s.labels)
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value
    }
  }
  return undefined
}

function familyOf(sampleName: string, current: Family | null, families: Map<string, Family>): Family | null {
  if (current !== null) {
    if (current.name === sampleName && current.type !== 'histogram') return current
    for (const suffix of SUFFIXES[current.type] ?? []) if (sampleName === current.name + suffix) return current
  }
  const direct = families.get(sampleName)
  return direct && !(direct.type in SUFFIXES) ? direct : null
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?$/.exec(line)
  if (match === null) return fail('not a sample line')
  const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string]
  const labels = labelText === undefined ? {} : parseLabels(labelText.slice(1, -1), fail)
  return { name, labels, value: parseValue(valueText, fail) }
}

function parseLabels(text: string, fail: (why: string) => never): Record<string, string> {
  const labels: Record<string, string> = {}
  let at = 0
  while (at < text.length) {
    const eq = text.indexOf('=', at)
    if (eq < 0) fail('a label without a value')
    const name = text.slice(at, eq)
    if (!LABEL_NAME.test(name)) fail(`bad label name ${JSON.stringify(name)}`)
    if (name in labels) fail(`label ${name} twice`)
    if (text[eq + 1] !== '"') fail('a label value must be quoted')
    let end = eq + 2
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
    if (end >= text.length) fail('an unterminated label value')
    labels[name] = unescape(text.slice(eq + 2, end), true, fail)
    at = end + 1
    if (at < text.length) {
      if (text[at] !== ',') fail('labels must be separated by commas')
      at++
    }
  }
  return labels
}

function unescape(text: string, quoted: boolean, fail: (why: string) => never): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    if (c === '"' && quoted) return '"'
    return fail(`a bad escape \\${c}`)
  })
}

/** As Prometheus reads them (Go's ParseFloat): special values in any case. */
function parseValue(text: string, fail: (why: string) => never): number {
  const special = text.toLowerCase()
  if (special === '+inf' || special === 'inf') return Infinity
  if (special === '-inf') return -Infinity
  if (special === 'nan') return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(`bad value ${text}`)
  return Number(text)
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const group = groups.get(key) ?? { buckets: [] }
    groups.set(key, group)
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new PromTextError(`${family.name}: a bucket without le`)
      group.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value])
    } else if (s.name.endsWith('_count')) {
      group.count = s.value
    }
  }
  for (const { buckets, count } of groups.values()) {
    for (let i = 1; i < buckets.length; i++) {
      const [le, n] = buckets[i] as [number, number]
      const [prevLe, prevN] = buckets[i - 1] as [number, number]
      if (!(le > prevLe) || n < prevN) throw new PromTextError(`${family.name}: buckets not in order or not cumulative`)
    }
    const last = buckets[buckets.length - 1]
    if (last === undefined || last[0] !== Infinity) throw new PromTextError(`${family.name}: no le="+Inf" bucket`)
    if (count !== last[1]) throw new PromTextError(`${family.name}: _count ${count} is not the +Inf bucket ${last[1]}`)
  }
}
