/**
 * The UDP probe's wire format: JSON lines. Commands on its stdin, events on its
 * stdout; every command gets exactly one `result` with the same id.
 */

export interface Endpoint {
  host: string
  port: number
}

export type ProbeCommand =
  | { id: number; op: 'bind'; port?: number }
  | { id: number; op: 'send'; socket: number; to: Endpoint; data: string; count?: number; intervalMs?: number }
  | { id: number; op: 'close'; socket: number }
  | { id: number; op: 'tcp-listen' }
  | { id: number; op: 'tcp-connect'; to: Endpoint; timeoutMs: number }

export type ProbeEvent =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; socket?: number; port?: number }
  | { type: 'result'; id: number; ok: false; error: string }
  /** A datagram arrived on a bound socket. */
  | { type: 'message'; socket: number; from: Endpoint; data: string }
  /** A TCP connection was accepted. */
  | { type: 'tcp-accept'; port: number; from: Endpoint }

/** Most datagrams one send command may ask for. */
export const MAX_SEND_COUNT = 10_000
