/**
 * What the CLI prints holds text that peers chose (chat messages, names,
 * close reasons, warnings): on a terminal, its control characters are shown
 * as escapes, so a peer cannot clear the screen, rewrite a line or fake one.
 * JSON output carries the text as it is (JSON escapes it itself).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Output } from '../../src/cli/output.js'
import { printable, printableLines } from '../../src/util/printable.js'

const HOSTILE = 'hi\x1b[2J\x1b]0;owned\x07\rback\nnew line\u009b31m\u202eevil\x7f'

describe('printing text from peers', () => {
  it('escapes every control character, newlines and bidirectional overrides included', () => {
    assert.equal(printable(HOSTILE), 'hi\\x1b[2J\\x1b]0;owned\\x07\\x0dback\\x0anew line\\x9b31m\\u202eevil\\x7f')
    assert.equal(printable('héllo wörld ✓ 日本語 🙂\ttab'), 'héllo wörld ✓ 日本語 🙂\\x09tab')
  })

  it('keeps the newlines of our own multi-line output, and escapes the rest', () => {
    assert.equal(printableLines('a\nb\x1b[Kc\r'), 'a\nb\\x1b[Kc\\x0d')
  })

  it('prints human lines escaped, and JSON lines with the text as it was', () => {
    const lines: string[] = []
    const human = new Output(false, { write: (line) => lines.push(line) })
    human.event('message', { text: HOSTILE }, `[peer] ${HOSTILE}`)
    assert.equal(lines.length, 1)
    assert.equal(printableLines(lines[0] as string), lines[0], 'no control character but the newline is left')
    assert.equal(lines[0], `[peer] ${printableLines(HOSTILE)}\n`)

    const json = new Output(true, { write: (line) => lines.push(line) })
    json.event('message', { text: HOSTILE }, 'unused')
    assert.equal((JSON.parse(lines[1] as string) as { text: string }).text, HOSTILE)
  })
})
