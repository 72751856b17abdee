/**
 * `npm run demo`, as a person uses it: five real overlay processes start, the
 * banner says how to talk to them, typed commands reach the named node, and
 * Ctrl-C stops every node gracefully.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import path from 'node:path'
import readline from 'node:readline'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { within } from '../helpers/wait.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

describe('npm run demo', () => {
  it('starts five nodes, forwards "<node> <command>" lines, and stops them all on Ctrl-C', async (t) => {
    const env = { ...process.env }
    delete env.NODE_TEST_CONTEXT
    const demo = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/demo.ts')], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)))
    // The nodes run in process groups of their own (Ctrl-C is the demo's to handle):
    // after a failure, stop them through the demo, or they outlive the test.
    t.after(async () => {
      if (demo.exitCode !== null || demo.signalCode !== null) return
      demo.kill('SIGINT')
      await within(60_000, exited, 'the demo to stop its nodes').catch(() => demo.kill('SIGKILL'))
    })
    const output: string[] = []
    const lines = new EventEmitter<{ line: [string] }>()
    readline.createInterface({ input: demo.stdout }).on('line', (line) => {
      output.push(line)
      lines.emit('line', line)
    })
    let stderr = ''
    demo.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    /** Resolves with the first line (seen already, or to come) that matches. */
    const line = (pattern: RegExp, ms = 30_000): Promise<string> => {
      const seen = output.find((l) => pattern.test(l))
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          lines.off('line', onLine)
          reject(new Error(`no demo line matching ${pattern} within ${ms} ms; output:\n${output.join('\n')}\n${stderr}`))
        }, ms)
        const onLine = (l: string): void => {
          if (!pattern.test(l)) return
          clearTimeout(timer)
          lines.off('line', onLine)
          resolve(l)
        }
        lines.on('line', onLine)
      })
    }

    await line(/^five nodes on 127.0.0.1, each with a session to the four others:$/, 90_000)
    await line(/^talk to them here/)
    for (const name of ['boot', 'alpha', 'beta', 'gamma', 'delta']) await line(new RegExp(`^  ${name}\\s+udp 127\\.0\\.0\\.1:\\d+ +id [0-9a-z]{12}  dashboard http://127\\.0\\.0\\.1:\\d+/`))

    // A direct message, acknowledged, and printed at its target with its sender.
    demo.stdin.write('alpha send delta hello from the demo test\n')
    await line(/^\[delta\] message from alpha: hello from the demo test$/)
    await line(/^\[alpha\] delivered to delta /)
    // A broadcast reaches the four others.
    demo.stdin.write('gamma broadcast to everyone\n')
    for (const name of ['boot', 'alpha', 'beta', 'delta']) await line(new RegExp(`^\\[${name}\\] broadcast from gamma: to everyone$`))
    // A line naming no node says how to use it.
    demo.stdin.write('nobody peers\n')
    await line(/^type "<node> <command>"/)

    demo.kill('SIGINT')
    assert.equal(await within(60_000, exited, 'the demo to exit after SIGINT'), 0)
    assert.ok(output.includes('all five stopped'), output.join('\n'))
    assert.ok(!output.some((l) => /did not stop|killed/.test(l)), 'every node exited on "exit" by itself')
  })
})
