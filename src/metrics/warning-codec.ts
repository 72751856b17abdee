/**
 * The METRIC_WARNING broadcast payload: a warning raised or cleared at the
 * broadcast's origin (the origin itself is the broadcast's signed origin).
 *
 *   version   u8   1
 *   state     u8   1 raised, 2 cleared
 *   metric    u8   1 rtt, 2 heartbeat loss, 3 few peers, 4 peer message rate, 5 relay share
 *   value     f64  big-endian, finite
 *   threshold f64  big-endian, finite
 *   since     u64  ms since the epoch, when it was raised at the origin
 *   subject   u8 length (0 or 52) + node id in ASCII: the peer it is about, if any
 *
 * Exactly that many bytes: anything else is refused with OVL_METRIC_WARNING_MALFORMED.
 */
import { ProtocolError } from '../errors.js'
import { isNodeId, NODE_ID_LENGTH } from '../identity/node-id.js'
import type { Reading, WarningMetric } from './warning.js'

export const WARNING_PAYLOAD_VERSION = 1
const FIXED_BYTES = 1 + 1 + 1 + 8 + 8 + 8 + 1
const NODE_ID_CHARS = NODE_ID_LENGTH
export const MAX_WARNING_PAYLOAD_BYTES = FIXED_BYTES + NODE_ID_CHARS

export type WarningState = 'raised' | 'cleared'

export interface WarningPayload extends Reading {
  state: WarningState
  since: number
}

const METRIC_CODES: Record<WarningMetric, number> = { rtt: 1, 'heartbeat-loss': 2, 'few-peers': 3, 'peer-message-rate': 4, 'relay-share': 5 }
const METRICS_BY_CODE = new Map(Object.entries(METRIC_CODES).map(([metric, code]) => [code, metric as WarningMetric]))
const STATE_CODES: Record<WarningState, number> = { raised: 1, cleared: 2 }

export function encodeWarning(payload: WarningPayload): Buffer {
  const subject = payload.subject ?? ''
  const out = Buffer.alloc(FIXED_BYTES + subject.length)
  let at = out.writeUInt8(WARNING_PAYLOAD_VERSION, 0)
  at = out.writeUInt8(STATE_CODES[payload.state], at)
  at = out.writeUInt8(METRIC_CODES[payload.metric], at)
  at = out.writeDoubleBE(payload.value, at)
  at = out.writeDoubleBE(payload.threshold, at)
  at = out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(payload.since))), at)
  at = out.writeUInt8(subject.length, at)
  out.write(subject, at, 'ascii')
  return out
}

export function decodeWarning(bytes: Buffer): WarningPayload {
  if (bytes.length < FIXED_BYTES) throw malformed(`${bytes.length} bytes, at least ${FIXED_BYTES} expected`)
  const version = bytes.readUInt8(0)
  if (version !== WARNING_PAYLOAD_VERSION) throw malformed(`version ${version} (this node speaks ${WARNING_PAYLOAD_VERSION})`)
  const stateCode = bytes.readUInt8(1)
  const state = stateCode === 1 ? 'raised' : stateCode === 2 ? 'cleared' : null
  if (state === null) throw malformed(`state ${stateCode}`)
  const metric = METRICS_BY_CODE.get(bytes.readUInt8(2))
  if (metric === undefined) throw malformed(`metric ${bytes.readUInt8(2)}`)
  const value = bytes.readDoubleBE(3)
  const threshold = bytes.readDoubleBE(11)
  if (!Number.isFinite(value) || !Number.isFinite(threshold)) throw malformed('value or threshold is not a finite number')
  const since = Number(bytes.readBigUInt64BE(19))
  if (!Number.isSafeInteger(since)) throw malformed('time out of range')
  const length = bytes.readUInt8(27)
  if (length !== 0 && length !== NODE_ID_CHARS) throw malformed(`subject of ${length} characters`)
  if (bytes.length !== FIXED_BYTES + length) throw malformed(`${bytes.length} bytes, ${FIXED_BYTES + length} expected`)
  const text = bytes.toString('ascii', FIXED_BYTES)
  if (length > 0 && !isNodeId(text)) throw malformed('subject is not a node id')
  return { state, metric, value, threshold, since, subject: length === 0 ? null : text }
}

function malformed(detail: string): ProtocolError {
  return new ProtocolError('OVL_METRIC_WARNING_MALFORMED', `METRIC_WARNING payload: ${detail}`)
}
