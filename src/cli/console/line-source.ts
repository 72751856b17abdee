/**
 * Where commands come from. On a terminal: a prompt with history and tab
 * completion. Otherwise: stdin read line by line, so a script can pipe commands
 * in; the end of input does not stop the node (only `exit` or a signal does).
 */
import readline from 'node:readline'

export interface LineSource {
  close(): void
  /** On a terminal: writes above the prompt and redraws it with what was typed so far. */
  print?: (text: string) => void
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
  if (!interactive) return { close: () => rl.close() }
  return {
    close: () => rl.close(),
    print: (text) => {
      readline.clearLine(process.stdout, 0)
      readline.cursorTo(process.stdout, 0)
      process.stdout.write(text)
      rl.prompt(true)
    },
  }
}
