/**
 * What the CLI prints on stdout: lines for people, or with --json one JSON
 * object per line, each with a `type`. Logs never go to stdout.
 */
import { isOverlayError } from '../errors.js'
import { printableLines } from '../util/printable.js'

export interface OutputSink {
  write(line: string): void
}

export class Output {
  readonly json: boolean
  #sink: OutputSink

  constructor(json: boolean, sink: OutputSink = { write: (line) => process.stdout.write(line) }) {
    this.json = json
    this.#sink = sink
  }

  setSink(sink: OutputSink): void {
    this.#sink = sink
  }

  /**
   * A structured event: JSON as is (JSON escapes control characters itself),
   * or the human text with its control characters escaped: it holds what
   * peers chose (names, messages, reasons). Callers escape the newlines of
   * single-line fields (printable()).
   */
  event(type: string, fields: Record<string, unknown>, human: string): void {
    this.#sink.write(this.json ? `${JSON.stringify({ type, ...fields })}\n` : `${printableLines(human)}\n`)
  }

  /** Output of a command. */
  result(fields: Record<string, unknown>, human: string): void {
    this.event('result', fields, human)
  }

  error(err: unknown): void {
    const code = isOverlayError(err) ? err.code : 'OVL_INTERNAL'
    const message = err instanceof Error ? err.message : String(err)
    if (this.json) this.#sink.write(`${JSON.stringify({ type: 'error', code, message })}\n`)
    else process.stderr.write(`overlay: ${printableLines(message)} [${code}]\n`)
  }
}
