/**
 * Generates the parts of docs/ that must not drift from the code: the error
 * code table (docs/errors.md) and the configuration reference
 * (docs/configuration.md), between GENERATED markers. `npm run docs` rewrites
 * them; test/docs.test.ts fails when they are stale.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { z } from 'zod'
import { configSchema } from '../src/config/schema.js'
import { ERROR_CODES } from '../src/errors.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const BEGIN = '<!-- GENERATED: do not edit by hand; npm run docs -->'
const END = '<!-- END GENERATED -->'

export function errorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`)
  return ['| code | meaning |', '|---|---|', ...rows].join('\n')
}

interface Def {
  type?: string
  innerType?: unknown
  shape?: Record<string, unknown>
  defaultValue?: unknown
  element?: unknown
}

function def(schema: unknown): Def {
  return ((schema as { def?: Def }).def ?? {}) as Def
}

function unwrap(schema: unknown): { inner: unknown; defaultValue?: unknown; optional: boolean } {
  let current = schema
  let defaultValue: unknown
  let optional = false
  for (;;) {
    const d = def(current)
    if (d.type === 'default') defaultValue = d.defaultValue
    else if (d.type === 'optional') optional = true
    else return defaultValue === undefined ? { inner: current, optional } : { inner: current, defaultValue, optional }
    current = d.innerType
  }
}

function describe(schema: unknown): string {
  return (schema as { description?: string }).description ?? ''
}

export function configTable(): string {
  const rows: string[] = ['| key | default | meaning |', '|---|---|---|']
  const walk = (shape: Record<string, unknown>, prefix: string): void => {
    for (const [key, field] of Object.entries(shape)) {
      const { inner, defaultValue, optional } = unwrap(field)
      const name = `${prefix}${key}`
      const innerDef = def(inner)
      const shown = defaultValue === undefined ? (optional ? '(none)' : '(required)') : innerDef.type === 'object' ? '' : `\`${JSON.stringify(defaultValue)}\``
      rows.push(`| \`${name}\` | ${shown} | ${describe(field) || describe(inner)} |`)
      if (innerDef.type === 'object' && innerDef.shape) walk(innerDef.shape, `${name}.`)
    }
  }
  walk((configSchema as unknown as z.ZodObject).shape as Record<string, unknown>, '')
  return rows.join('\n')
}

export function replaceGenerated(text: string, generated: string): string {
  const start = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  if (start < 0 || end < start) throw new Error('generated markers missing')
  return `${text.slice(0, start + BEGIN.length)}\n${generated}\n${text.slice(end)}`
}

export const GENERATED_DOCS: Array<{ file: string; build: () => string }> = [
  { file: path.join(root, 'docs/errors.md'), build: errorTable },
  { file: path.join(root, 'docs/configuration.md'), build: configTable },
]

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const { file, build } of GENERATED_DOCS) {
    fs.writeFileSync(file, replaceGenerated(fs.readFileSync(file, 'utf8'), build()))
    console.log(`updated ${path.relative(root, file)}`)
  }
}
