/**
 * Path probes: small authenticated datagrams outside the session's stream,
 * the heartbeat's PING and PONG (as WireGuard keepalives and Tailscale's disco
 * pings). A reliable stream stalls for seconds when a packet and its
 * retransmission are both lost (RTO backoff); a probe is answered or not
 * within one round trip, so liveness does not depend on the stream's recovery.
 *
 *   0  u8  magic 0xa6     4  8 B session tag     (both ends derive it from the TLS exporter)
 *   1  u8  version       12  u32 seq
 *   2  u8  type (1 PING, 2 PONG)   16  16 B MAC: HMAC-SHA256(sender's key, bytes 0-15)
 *   3  u8  reserved (0)
 *
 * 32 bytes both ways: a PONG is never larger than its PING. Keys are per
 * direction, so a PING cannot be reflected back as if the other side sent it.
 */
import crypto from 'node:crypto'
import { PROBE_MAGIC, PROTOCOL_VERSION } from '../constants.js'
import type { TlsRole } from './binding.js'

export const PROBE_BYTES = 32
const MAC_BYTES = 16
export const TAG_BYTES = 8

export enum ProbeType {
  Ping = 1,
  Pong = 2,
}

export interface ProbeKeys {
  /** Names the session in every probe (hex). */
  tag: string
  /** MAC key for what this side sends. */
  send: Buffer
  /** MAC key for what the peer sends. */
  receive: Buffer
}

function derive(exporter: Buffer, label: string): Buffer {
  return crypto.createHmac('sha256', exporter).update(`p2p-overlay probe v1 ${label}`).digest()
}

export function deriveProbeKeys(exporter: Buffer, role: TlsRole): ProbeKeys {
  const client = derive(exporter, 'client')
  const server = derive(exporter, 'server')
  return {
    tag: derive(exporter, 'tag').subarray(0, TAG_BYTES).toString('hex'),
    send: role === 'client' ? client : server,
    receive: role === 'client' ? server : client,
  }
}

function mac(key: Buffer, head: Buffer): Buffer {
  return crypto.createHmac('sha256', key).update(head).digest().subarray(0, MAC_BYTES)
}

export function encodeProbe(type: ProbeType, keys: ProbeKeys, seq: number): Buffer {
  const out = Buffer.alloc(PROBE_BYTES)
  out[0] = PROBE_MAGIC
  out[1] = PROTOCOL_VERSION
  out[2] = type
  Buffer.from(keys.tag, 'hex').copy(out, 4)
  out.writeUInt32BE(seq, 12)
  mac(keys.send, out.subarray(0, 16)).copy(out, 16)
  return out
}

/** The tag of a well-formed probe, or null: the caller finds the session, then verifies. */
export function probeTag(data: Buffer): string | null {
  if (data.length !== PROBE_BYTES || data[0] !== PROBE_MAGIC || data[1] !== PROTOCOL_VERSION || data[3] !== 0) return null
  if (data[2] !== ProbeType.Ping && data[2] !== ProbeType.Pong) return null
  return data.toString('hex', 4, 12)
}

/** Checks the MAC with the peer's key; returns the probe or null. */
export function verifyProbe(data: Buffer, keys: ProbeKeys): { type: ProbeType; seq: number } | null {
  const expected = mac(keys.receive, data.subarray(0, 16))
  if (!crypto.timingSafeEqual(expected, data.subarray(16, 32))) return null
  return { type: data[2] as ProbeType, seq: data.readUInt32BE(12) }
}
