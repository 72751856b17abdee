/**
 * Section "ed25519": the identity signatures the session binding, signed
 * broadcasts and peer records depend on. libsodium (sodium-native), which the
 * product signs and verifies with, against node:crypto (OpenSSL) and
 * @noble/ed25519 (pure JS, with node:crypto's SHA-512 plugged in). Checks
 * the figures in identity.ts.
 */
import crypto from 'node:crypto'
import { performance } from 'node:perf_hooks'
import * as ed from '@noble/ed25519'
import { Identity, verifySignature } from '../src/identity/identity.js'
import type { BenchContext, BenchSection, SectionResult } from './harness.js'
import { round } from './stats.js'

// noble needs a SHA-512 for its synchronous sign and verify; OpenSSL's is the obvious one.
ed.hashes.sha512 = (message: Uint8Array) => new Uint8Array(crypto.createHash('sha512').update(message).digest())

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
  title: 'Ed25519 sign/verify: libsodium (the product) vs node:crypto (OpenSSL) vs @noble/ed25519',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const count = ctx.scale.signatures
    const secretKey = ed.utils.randomSecretKey()
    const identity = Identity.fromSecretKey(secretKey)
    const publicKey = identity.publicKey
    const messages = Array.from({ length: 64 }, () => crypto.randomBytes(MESSAGE_BYTES))
    const at = (i: number): Buffer => messages[i % messages.length] as Buffer

    const privateKey = crypto.createPrivateKey(identity.toPem())
    const opensslKey = crypto.createPublicKey(privateKey)
    // All implement RFC 8032 (deterministic): the same key and message give the same signature.
    const sample = at(0)
    const ours = identity.sign(sample)
    if (!ours.equals(Buffer.from(ed.sign(sample, secretKey))) || !ours.equals(crypto.sign(null, sample, privateKey))) {
      throw new Error('libsodium, node:crypto and @noble/ed25519 produced different signatures for the same key and message')
    }
    const signatures = messages.map((m) => identity.sign(m))
    const sigAt = (i: number): Buffer => signatures[i % signatures.length] as Buffer

    ctx.progress(`ed25519: ${count} signatures and verifications each way`)
    const sodiumSign = timePerOp(count, (i) => identity.sign(at(i)))
    const nodeSign = timePerOp(count, (i) => crypto.sign(null, at(i), privateKey))
    const nobleSign = timePerOp(count, (i) => ed.sign(at(i), secretKey))
    const sodiumVerify = timePerOp(count, (i) => {
      if (!verifySignature(publicKey, at(i), sigAt(i))) throw new Error('libsodium rejected a valid signature')
    })
    const nodeVerify = timePerOp(count, (i) => {
      if (!crypto.verify(null, at(i), opensslKey, sigAt(i))) throw new Error('node:crypto rejected a valid signature')
    })
    const nobleVerify = timePerOp(count, (i) => {
      if (!ed.verify(sigAt(i), at(i), publicKey)) throw new Error('@noble/ed25519 rejected a valid signature')
    })
    return {
      figures: [
        { key: 'ed25519_sign_us_libsodium', label: 'Ed25519 sign, libsodium (us)', better: 'lower', overlay: round(sodiumSign, 3) },
        { key: 'ed25519_sign_us_node_crypto', label: 'Ed25519 sign, node:crypto (us)', better: 'lower', overlay: round(nodeSign, 3) },
        { key: 'ed25519_sign_us_noble', label: 'Ed25519 sign, @noble/ed25519 (us)', better: 'lower', overlay: round(nobleSign, 3) },
        { key: 'ed25519_verify_us_libsodium', label: 'Ed25519 verify, libsodium (us)', better: 'lower', overlay: round(sodiumVerify, 3) },
        { key: 'ed25519_verify_us_node_crypto', label: 'Ed25519 verify, node:crypto (us)', better: 'lower', overlay: round(nodeVerify, 3) },
        { key: 'ed25519_verify_us_noble', label: 'Ed25519 verify, @noble/ed25519 (us)', better: 'lower', overlay: round(nobleVerify, 3) },
      ],
      data: {
        operations: count,
        message_bytes: MESSAGE_BYTES,
        node_over_libsodium: { sign: round(nodeSign / sodiumSign, 3), verify: round(nodeVerify / sodiumVerify, 3) },
        noble_over_libsodium: { sign: round(nobleSign / sodiumSign, 3), verify: round(nobleVerify / sodiumVerify, 3) },
      },
      notes: [
        `node:crypto takes ${(nodeSign / sodiumSign).toFixed(1)}x libsodium's time to sign and ${(nodeVerify / sodiumVerify).toFixed(1)}x to verify`,
        `@noble/ed25519 takes ${(nobleSign / sodiumSign).toFixed(1)}x to sign and ${(nobleVerify / sodiumVerify).toFixed(1)}x to verify`,
      ],
    }
  },
}
