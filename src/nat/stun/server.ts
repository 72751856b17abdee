/**
 * The STUN server part: answers Binding requests (RFC 8489, RFC 5389, and
 * RFC 3489 requests without the magic cookie) with the source's reflexive
 * address. Answers are at most STUN_MAX_ANSWER_BYTES and rate-limited per
 * source IP and in total; everything else is dropped with a reason.
 */
import { EventEmitter } from 'node:events'
import type { RemoteAddress } from '../../transport/connection.js'
import {
  STUN_ANSWERS_PER_SECOND,
  STUN_ANSWERS_PER_SOURCE_BURST,
  STUN_ANSWERS_PER_SOURCE_PER_SECOND,
  STUN_HEADER_BYTES,
  STUN_MAX_ANSWER_BYTES,
  STUN_RATE_LIMIT_SOURCES,
} from '../constants.js'
import { encodeBindingSuccess, encodeUnknownAttributes, type AnsweredRequest } from './codec.js'
import { StunRateLimiter, type StunRateLimits } from './rate-limit.js'
import { BINDING_METHOD, isComprehensionRequired, readAttributes, StunAttr, type RawAttribute, type StunDropReason, type StunHeader } from './wire.js'

/**
 * Comprehension-required attributes a Binding request may carry that need no
 * action here: authentication (this server asks for none, so it ignores it,
 * RFC 8489 section 9), ICE's PRIORITY and USE-CANDIDATE, RFC 5780 PADDING,
 * and CHANGE-REQUEST asking for no change (what RFC 3489 clients send).
 */
const IGNORED: ReadonlySet<number> = new Set([
  StunAttr.Username,
  StunAttr.MessageIntegrity,
  StunAttr.MessageIntegritySha256,
  StunAttr.Userhash,
  StunAttr.Realm,
  StunAttr.Nonce,
  StunAttr.Priority,
  StunAttr.UseCandidate,
  StunAttr.Padding,
])

export interface StunServerEvents {
  dropped: [reason: StunDropReason, from: RemoteAddress]
  /** An answer went out (for counters and tests). */
  answered: [to: RemoteAddress, bytes: number, kind: 'success' | 'unknown-attribute']
}

export interface StunServerInit {
  send: (data: Buffer, to: RemoteAddress) => void
  limits?: Partial<StunRateLimits>
  now?: () => number
}

export const DEFAULT_STUN_RATE_LIMITS: Readonly<StunRateLimits> = Object.freeze({
  perSourcePerSecond: STUN_ANSWERS_PER_SOURCE_PER_SECOND,
  perSourceBurst: STUN_ANSWERS_PER_SOURCE_BURST,
  totalPerSecond: STUN_ANSWERS_PER_SECOND,
  maxSources: STUN_RATE_LIMIT_SOURCES,
})

export class StunServer extends EventEmitter<StunServerEvents> {
  readonly #send: (data: Buffer, to: RemoteAddress) => void
  readonly #limiter: StunRateLimiter

  constructor(init: StunServerInit) {
    super()
    this.#send = init.send
    this.#limiter = new StunRateLimiter({ ...DEFAULT_STUN_RATE_LIMITS, ...init.limits }, init.now)
  }

  /** A request whose header the endpoint has read. */
  handle(data: Buffer, header: StunHeader, from: RemoteAddress): void {
    if (header.method !== BINDING_METHOD) return this.#drop('stun-unsupported-method', from)
    if (!this.#limiter.take(from.host)) return this.#drop('stun-rate-limited', from)
    const attributes = readAttributes(data, header)
    if (!attributes.ok) return this.#drop(attributes.reason, from)
    const request: AnsweredRequest = {
      header,
      rawTransaction: data.subarray(4, STUN_HEADER_BYTES),
      fingerprint: attributes.value.some((a) => a.type === StunAttr.Fingerprint),
    }
    const unknown = unknownRequired(attributes.value)
    const kind = unknown.length > 0 ? 'unknown-attribute' : 'success'
    const answer = kind === 'success' ? encodeBindingSuccess(request, { host: from.host, port: from.port }) : encodeUnknownAttributes(request, unknown)
    if (answer.length > STUN_MAX_ANSWER_BYTES) return this.#drop('stun-answer-too-large', from)
    this.#send(answer, from)
    this.emit('answered', from, answer.length, kind)
  }

  get trackedSources(): number {
    return this.#limiter.trackedSources
  }

  #drop(reason: StunDropReason, from: RemoteAddress): void {
    this.emit('dropped', reason, from)
  }
}

/** Comprehension-required attributes this server does not act on (RFC 8489 section 7.3.1: answer 420). */
function unknownRequired(attributes: RawAttribute[]): number[] {
  const unknown: number[] = []
  for (const { type, value } of attributes) {
    if (!isComprehensionRequired(type) || IGNORED.has(type)) continue
    // CHANGE-REQUEST asking to answer from another address or port: this server has one (RFC 5780 section 7.2: 420).
    if (type === StunAttr.ChangeRequest && value.length === 4 && (value.readUInt32BE(0) & 0x6) === 0) continue
    if (!unknown.includes(type)) unknown.push(type)
  }
  return unknown
}
