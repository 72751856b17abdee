/** Programs run inside NAT lab namespaces: to completion, or until they print a line. */
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Lab, Where } from '../lab/index.js'
import { within } from '../../helpers/wait.js'

export const OVERLAY_BIN = fileURLToPath(new URL('../../../scripts/overlay.ts', import.meta.url))

export interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `node --import tsx ...args` in `where` to its end; rejects after `timeoutMs` (and kills it). */
export function runNodeIn(lab: Lab, where: Where, args: readonly string[], timeoutMs: number): Promise<Finished> {
  const child = lab.spawnNode(where, args)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<Finished>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
  return within(timeoutMs, exited, `${args.join(' ')} to finish`).catch((error: Error) => {
    child.kill('SIGKILL')
    throw new Error(`${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`)
  })
}

/** The first JSON line on `child`'s stdout that `match` accepts. */
export function jsonLine<T>(child: ChildProcess, match: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<T> {
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return within(
    timeoutMs,
    new Promise<T>((resolve, reject) => {
      let buffered = ''
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (buffered + chunk).split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) {
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>
            if (match(parsed)) resolve(parsed as T)
          } catch {
            // not JSON: ignore
          }
        }
      })
      child.once('exit', (code) => reject(new Error(`exited (${code}) before ${what}: ${stderr}`)))
    }),
    what,
  )
}
