/**
 * Stateless setup cookies (the idea of TCP SYN cookies and QUIC Retry): an HMAC
 * over the source address and the dialer's stream id and nonce, keyed by a
 * per-process secret, in epochs. A cookie is good for the epoch it was made in
 * and the next one.
 */
import crypto from 'node:crypto'
import { COOKIE_EPOCH_MS } from '../constants.js'
import { COOKIE_BYTES } from './setup-datagram.js'

export class CookieJar {
  readonly #secret = crypto.randomBytes(32)
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  make(host: string, port: number, streamId: number, nonce: Buffer): Buffer {
    return this.#compute(this.#epoch(), host, port, streamId, nonce)
  }

  check(cookie: Buffer, host: string, port: number, streamId: number, nonce: Buffer): boolean {
    const epoch = this.#epoch()
    return (
      cookie.length === COOKIE_BYTES &&
      (crypto.timingSafeEqual(cookie, this.#compute(epoch, host, port, streamId, nonce)) ||
        crypto.timingSafeEqual(cookie, this.#compute(epoch - 1, host, port, streamId, nonce)))
    )
  }

  #epoch(): number {
    return Math.floor(this.#now() / COOKIE_EPOCH_MS)
  }

  #compute(epoch: number, host: string, port: number, streamId: number, nonce: Buffer): Buffer {
    return crypto
      .createHmac('sha256', this.#secret)
      .update(`${epoch}|${host}|${port}|${streamId}|`)
      .update(nonce)
      .digest()
      .subarray(0, COOKIE_BYTES)
  }
}
