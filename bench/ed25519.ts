/**
 * Section "ed25519": the identity signatures the session binding (and later
 * signed broadcasts and peer records) depend on. node:crypto (OpenSSL), which
 * the product uses on the hot path, against @noble/ed25519 (pure JS, with
 * node:crypto's SHA-512 plugged in, as src/identity/identity.ts configures it).
 * Checks the claim in identity.ts that OpenSSL signs about 16x faster.
 */
import crypto from 'node:crypto'
import { performance } from 'node:perf_hooks'
import * as ed from '@noble/ed25519'
import { Identity, verifySignature } from '../src/identity/identity.js'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import { round } from './stats.js'

/** About the size of a session binding message (label, role, 32-byte exporter). */
const MESSAGE_BYTES = 58

/** Microseconds per call of `op`, over `count` calls after count/10 warm-up calls. */
function timePerOp(count: number, op: (i: number) => void): number {
  for (let i = 0; i < Math.ceil(count / 10); i++) op(i)
  const started = performance.now()
  for (let i = 0; i < count; i++) op(i)
  return ((performance.now() - started) * 1000) / count
}

export const ed25519Section: BenchSection = {
  name: 'ed25519',
  title: 'Ed25519 sign/verify: node:crypto (OpenSSL) vs @noble/ed25519',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const count = ctx.scale.signatures
    const secretKey = ed.utils.randomSecretKey()
    const identity = Identity.fromSecretKey(secretKey)
    const publicKey = identity.publicKey
    const messages = Array.from({ length: 64 }, () => crypto.randomBytes(MESSAGE_BYTES))
    const at = (i: number): Buffer => messages[i % messages.length] as Buffer

    // Both implement RFC 8032 (deterministic): the same key and message give the same signature.
    const sample = at(0)
    if (!identity.sign(sample).equals(Buffer.from(ed.sign(sample, secretKey)))) {
      throw new Error('node:crypto and @noble/ed25519 produced different signatures for the same key and message')
    }
    const signatures = messages.map((m) => identity.sign(m))
    const sigAt = (i: number): Buffer => signatures[i % signatures.length] as Buffer

    ctx.progress(`ed25519: ${count} signatures and verifications each way`)
    const nodeSign = timePerOp(count, (i) => identity.sign(at(i)))
    const nobleSign = timePerOp(count, (i) => ed.sign(at(i), secretKey))
    const nodeVerify = timePerOp(count, (i) => {
      if (!verifySignature(publicKey, at(i), sigAt(i))) throw new Error('node:crypto rejected a valid signature')
    })
    const nobleVerify = timePerOp(count, (i) => {
      if (!ed.verify(sigAt(i), at(i), publicKey)) throw new Error('@noble/ed25519 rejected a valid signature')
    })
    return {
      figures: [
        { key: 'ed25519_sign_us_node_crypto', label: 'Ed25519 sign, node:crypto (us)', better: 'lower', overlay: round(nodeSign, 3) },
        { key: 'ed25519_sign_us_noble', label: 'Ed25519 sign, @noble/ed25519 (us)', better: 'lower', overlay: round(nobleSign, 3) },
        { key: 'ed25519_verify_us_node_crypto', label: 'Ed25519 verify, node:crypto (us)', better: 'lower', overlay: round(nodeVerify, 3) },
        { key: 'ed25519_verify_us_noble', label: 'Ed25519 verify, @noble/ed25519 (us)', better: 'lower', overlay: round(nobleVerify, 3) },
      ],
      data: { operations: count, message_bytes: MESSAGE_BYTES, noble_over_node: { sign: round(nobleSign / nodeSign, 3), verify: round(nobleVerify / nodeVerify, 3) } },
      notes: [`@noble/ed25519 is ${(nobleSign / nodeSign).toFixed(1)}x slower to sign and ${(nobleVerify / nodeVerify).toFixed(1)}x slower to verify than node:crypto`],
    }
  },
}
