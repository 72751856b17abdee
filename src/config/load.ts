/**
 * Loads the config: YAML file, then command-line overrides, validated once and
 * frozen. An error names where the value came from (the file, or the flag),
 * the key, the value and what was expected. Relative paths in a file resolve
 * against the file's directory; those from flags, against the working directory.
 */
import fs from 'node:fs/promises'
import nodePath from 'node:path'
import YAML from 'yaml'
import type { z } from 'zod'
import { ConfigError } from '../errors.js'
import { configSchema, HOST_PORT_PATTERN, type ParsedConfig } from './schema.js'

export interface NodeConfig extends Omit<ParsedConfig, 'name' | 'dataDir' | 'identity' | 'bootstrap'> {
  name: string
  dataDir: string
  identity: string
  bootstrap: Array<{ host: string; port: number }>
  /** The file the config came from, if any. */
  file: string | null
}

/** A value set on the command line: its key path, its value, and the flag that set it (for messages). */
export interface Override {
  key: string
  value: unknown
  flag: string
}

const PATH_KEYS = ['dataDir', 'identity', 'tls.ca', 'tls.cert', 'tls.key', 'devCaDir', 'dashboard.tokenFile']

export async function loadConfig(file: string | null, overrides: Override[] = [], cwd = process.cwd()): Promise<NodeConfig> {
  let raw: Record<string, unknown> = {}
  if (file !== null) raw = await readYaml(file)
  const fileDir = file === null ? cwd : nodePath.dirname(nodePath.resolve(cwd, file))
  resolvePaths(raw, fileDir)

  const sources = new Map<string, string>()
  for (const override of overrides) {
    setPath(raw, override.key, override.value)
    sources.set(override.key, `command line ${override.flag}`)
  }
  for (const key of PATH_KEYS) if (sources.has(key)) resolvePath(raw, key, cwd)

  const result = configSchema.safeParse(raw)
  if (!result.success) throw new ConfigError('OVL_CONFIG_INVALID', formatIssues(result.error.issues, raw, file, sources))
  return finish(result.data, file, cwd)
}

async function readYaml(file: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (cause) {
    throw new ConfigError('OVL_CONFIG_UNREADABLE', `${file}: cannot read config file (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause })
  }
  let doc: unknown
  try {
    doc = YAML.parse(text, { uniqueKeys: true })
  } catch (cause) {
    throw new ConfigError('OVL_CONFIG_UNREADABLE', `${file}: not valid YAML: ${(cause as Error).message}`, { cause })
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('OVL_CONFIG_INVALID', `${file}: the top level must be a mapping of keys to values`)
  }
  return doc as Record<string, unknown>
}

function finish(parsed: ParsedConfig, file: string | null, cwd: string): NodeConfig {
  const name = parsed.name ?? `node-${parsed.listen.port}`
  const dataDir = parsed.dataDir ?? nodePath.resolve(cwd, 'data', name)
  const config: NodeConfig = {
    ...parsed,
    name,
    dataDir,
    identity: parsed.identity ?? nodePath.join(dataDir, 'identity.key'),
    bootstrap: parsed.bootstrap.map(parseHostPort),
    devCaDir: nodePath.resolve(cwd, parsed.devCaDir),
    file,
  }
  return deepFreeze(config)
}

export function parseHostPort(text: string): { host: string; port: number } {
  const m = HOST_PORT_PATTERN.exec(text)
  if (m === null) throw new ConfigError('OVL_CONFIG_INVALID', `"${text}": expected HOST:PORT`)
  return { host: m[1] as string, port: Number(m[2]) }
}

function formatIssues(issues: z.core.$ZodIssue[], raw: Record<string, unknown>, file: string | null, sources: Map<string, string>): string {
  const lines = issues.map((issue) => {
    const key = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('')
    const source = sourceOf(issue.path, sources) ?? file ?? 'defaults'
    if (issue.code === 'unrecognized_keys') {
      const where = key === '' ? '' : `${key}.`
      return `${source}: unknown key ${issue.keys.map((k) => `"${where}${k}"`).join(', ')}: expected one of ${knownKeys(issue.path).join(', ')}`
    }
    const value = getPath(raw, issue.path)
    const shown = value === undefined ? '(missing)' : JSON.stringify(value)
    return `${source}: key "${key}" = ${shown}: ${issue.message}`
  })
  return lines.length === 1 ? (lines[0] as string) : `invalid configuration:\n  ${lines.join('\n  ')}`
}

/** Where the value at `path` came from: the flag that set it or a key above it (--bootstrap sets the whole list). */
function sourceOf(path: PropertyKey[], sources: Map<string, string>): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const source = sources.get(path.slice(0, n).join('.'))
    if (source !== undefined) return source
  }
  return undefined
}

function knownKeys(path: PropertyKey[]): string[] {
  let schema: z.ZodTypeAny = configSchema
  for (const segment of path) {
    const shape = objectShape(schema)
    if (!shape) return []
    schema = shape[String(segment)] as z.ZodTypeAny
  }
  return Object.keys(objectShape(schema) ?? {})
}

function objectShape(schema: z.ZodTypeAny): Record<string, unknown> | null {
  let current: unknown = schema
  // Unwrap .default() and .optional() to reach the object.
  for (let i = 0; i < 4 && current; i++) {
    const def = (current as { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown> } }).def
    if (def?.type === 'object') return def.shape ?? null
    current = def?.innerType
  }
  return null
}

function resolvePaths(raw: Record<string, unknown>, base: string): void {
  for (const key of PATH_KEYS) resolvePath(raw, key, base)
}

function resolvePath(raw: Record<string, unknown>, key: string, base: string): void {
  const value = getPath(raw, key.split('.'))
  if (typeof value === 'string' && value.length > 0) setPath(raw, key, nodePath.resolve(base, value))
}

function getPath(raw: unknown, path: PropertyKey[] | string[]): unknown {
  let current = raw
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[segment as string]
  }
  return current
}

function setPath(raw: Record<string, unknown>, key: string, value: unknown): void {
  const segments = key.split('.')
  let current: Record<string, unknown> = raw
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[segment] = {}
    current = current[segment] as Record<string, unknown>
  }
  current[segments[segments.length - 1] as string] = value
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
