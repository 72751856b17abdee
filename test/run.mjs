#!/usr/bin/env node
// Runs the test suites with Node's test runner, TypeScript through tsx.
//   npm test                 every *.test.ts under test/
//   npm test -- test/session only those under the given paths
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'))

function collect(entry, out) {
  const stat = fs.statSync(entry)
  if (stat.isDirectory()) {
    for (const name of fs.readdirSync(entry).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue
      collect(path.join(entry, name), out)
    }
  } else if (entry.endsWith('.test.ts')) {
    out.push(entry)
  }
  return out
}

const files = (roots.length ? roots : ['test']).flatMap((root) => collect(root, []))
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ') || 'test'}`)
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
