import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { GENERATED_DOCS, replaceGenerated } from '../scripts/gen-docs.js'
import { ERROR_CODES } from '../src/errors.js'
import { REPO_ROOT } from './helpers/cli.js'

describe('docs', () => {
  it('the generated parts of docs/ are up to date (run npm run docs)', () => {
    for (const { file, build } of GENERATED_DOCS) {
      const text = fs.readFileSync(file, 'utf8')
      assert.equal(text, replaceGenerated(text, build()), `${path.relative(REPO_ROOT, file)} is stale`)
    }
  })

  it('every error code appears in docs/errors.md', () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'docs/errors.md'), 'utf8')
    for (const code of Object.keys(ERROR_CODES)) assert.ok(text.includes(`\`${code}\``), code)
  })

  it('every error code used in src/ is declared', () => {
    const used = new Set<string>()
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name)
        if (entry.isDirectory()) walk(full)
        else if (entry.name.endsWith('.ts')) for (const m of fs.readFileSync(full, 'utf8').matchAll(/'(OVL_[A-Z_]+)'/g)) used.add(m[1] as string)
      }
    }
    walk(path.join(REPO_ROOT, 'src'))
    for (const code of used) assert.ok(code in ERROR_CODES, `${code} is used but not declared`)
  })

  it('the README shows how to install, start a node and run the tests', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
    assert.match(readme, /npm ci && npm start/)
    assert.match(readme, /npm ci && npm test/)
  })
})
