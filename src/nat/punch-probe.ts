/**
 * Hole-punch probes: what two nodes send each other's candidate addresses at
 * the same time, so that each NAT sees outbound traffic to the other and lets
 * the other's in. 20 bytes each way:
 *
 *   0 u8 magic 0xa7   1 u8 version   2 u8 type (1 PROBE, 2 ACK)   3 u8 reserved   4 16 B nonce
 *
 * The nonce names the attempt (agreed in signed SIGNAL messages). A probe
 * proves nothing about who sent it: the path it opens only carries a session
 * once TLS and the Ed25519 binding verify. An ACK is the same size as the
 * probe it answers, and only probes of an attempt in progress are answered.
 */
import { PROTOCOL_VERSION, PUNCH_MAGIC } from '../constants.js'

export const PUNCH_PROBE_BYTES = 20
const NONCE_BYTES = 16

export enum PunchProbeType {
  Probe = 1,
  Ack = 2,
}

export function encodePunchProbe(type: PunchProbeType, nonce: string): Buffer {
  const out = Buffer.alloc(PUNCH_PROBE_BYTES)
  out[0] = PUNCH_MAGIC
  out[1] = PROTOCOL_VERSION
  out[2] = type
  Buffer.from(nonce, 'hex').copy(out, 4, 0, NONCE_BYTES)
  return out
}

export function decodePunchProbe(data: Buffer): { type: PunchProbeType; nonce: string } | null {
  if (data.length !== PUNCH_PROBE_BYTES || data[0] !== PUNCH_MAGIC || data[1] !== PROTOCOL_VERSION || data[3] !== 0) return null
  if (data[2] !== PunchProbeType.Probe && data[2] !== PunchProbeType.Ack) return null
  return { type: data[2], nonce: data.toString('hex', 4, 4 + NONCE_BYTES) }
}
