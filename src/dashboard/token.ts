/**
 * The dashboard's access token: 256 random bits, in the URL printed at start.
 * The browser trades it for a session cookie (which opens the page's own code
 * only) on its first request; the page sends the token itself on every call
 * for data. The cookie's value is derived from the token (HMAC), so the
 * server keeps no session state, and every comparison runs in constant time.
 * Only `redacted` ever reaches a log.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import { DashboardError } from '../errors.js'
import { exists, writeSecretFile } from '../util/files.js'
import { TOKEN_BYTES } from './defaults.js'

/** base64url of at least 128 bits. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22,256}$/

export class AccessToken {
  readonly value: string
  /** What the session cookie holds. */
  readonly cookieValue: string
  readonly #digest: Buffer

  constructor(value: string) {
    if (!TOKEN_PATTERN.test(value)) throw new DashboardError('OVL_DASHBOARD_TOKEN_FILE', 'the access token must be at least 22 characters of base64url (128 bits)')
    this.value = value
    this.cookieValue = derive(value, 'session cookie')
    this.#digest = digest(value)
  }

  static generate(): AccessToken {
    return new AccessToken(crypto.randomBytes(TOKEN_BYTES).toString('base64url'))
  }

  /** The token in `file`, or a new one written there with mode 0600. */
  static async fromFile(file: string): Promise<AccessToken> {
    if (!(await exists(file))) {
      const token = AccessToken.generate()
      await writeSecretFile(file, `${token.value}\n`)
      return token
    }
    const stat = await fs.stat(file)
    if ((stat.mode & 0o077) !== 0) {
      throw new DashboardError('OVL_DASHBOARD_TOKEN_FILE', `${file}: the dashboard token is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 ${file}`)
    }
    const text = (await fs.readFile(file, 'utf8')).trim()
    try {
      return new AccessToken(text)
    } catch (err) {
      throw new DashboardError('OVL_DASHBOARD_TOKEN_FILE', `${file}: ${(err as Error).message}`)
    }
  }

  matches(candidate: string): boolean {
    return crypto.timingSafeEqual(this.#digest, digest(candidate))
  }

  matchesCookie(candidate: string): boolean {
    return sameSecret(this.cookieValue, candidate)
  }

  /** The first characters only: enough to tell two tokens apart in a log. */
  get redacted(): string {
    return `${this.value.slice(0, 4)}…`
  }
}

function derive(token: string, purpose: string): string {
  return crypto.createHmac('sha256', token).update(`p2p-overlay dashboard ${purpose}`).digest('base64url')
}

function digest(text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest()
}

function sameSecret(expected: string, candidate: string): boolean {
  return crypto.timingSafeEqual(digest(expected), digest(candidate))
}
