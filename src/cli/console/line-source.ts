/**
 * Where commands come from. On a terminal: a prompt with history and tab
 * completion. Otherwise: stdin read line by line, so a script can pipe commands
 * in; the end of input does not stop the node (only `exit` or a signal does).
 */
import readline from 'node:readline'

export interface LineSource {
  close(): void
}

export function readLines(options: { onLine: (line: string) => Promise<void>; completions: string[]; prompt: string }): LineSource {
  const interactive = process.stdin.isTTY === true
  const rl = readline.createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    historySize: 1000,
    completer: interactive ? (line: string) => [options.completions.filter((c) => c.startsWith(line)), line] : undefined,
  })
  if (interactive) {
    rl.setPrompt(options.prompt)
    rl.prompt()
  }
  // Lines are handled one at a time, in order, even when a command awaits.
  let queue = Promise.resolve()
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      await options.onLine(line)
      if (interactive) rl.prompt()
    })
  })
  return { close: () => rl.close() }
}
