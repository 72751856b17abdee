/**
 * Text from peers (chat messages, names, close reasons, warnings) made safe
 * to print on an operator's terminal: control characters become visible
 * escapes, so a peer can neither send terminal escape sequences (clear the
 * screen, move the cursor, set the window title), nor overwrite a line with a
 * carriage return, nor reorder what is shown with bidirectional overrides.
 */

/** C0 and C1 controls, DEL, and the Unicode bidirectional formatting characters (control characters on purpose). */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

function escape(char: string): string {
  const code = char.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** One line of text: every control character escaped, newlines too. */
export function printable(text: string): string {
  return text.replace(CONTROLS, escape)
}

/** Text of several lines (our own tables): every control character but the newline escaped. */
export function printableLines(text: string): string {
  return text.replace(CONTROLS_BUT_NEWLINE, escape)
}

const ANY_CONTROL = new RegExp(CONTROLS.source)

/** Whether `text` holds a control character (newlines included): names must not. */
export function hasControlCharacters(text: string): boolean {
  return ANY_CONTROL.test(text)
}
