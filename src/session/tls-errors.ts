/**
 * Maps what node:tls reports (OpenSSL verify codes and alerts) to our codes.
 * A verify code means this side judged; an alert means the peer judged and
 * told us.
 */
import { HandshakeError, OverlayError, type ErrorCode } from '../errors.js'

const LOCAL: Record<string, ErrorCode> = {
  CERT_HAS_EXPIRED: 'OVL_CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'OVL_CERT_NOT_YET_VALID',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'OVL_CERT_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT: 'OVL_CERT_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'OVL_CERT_UNTRUSTED',
  SELF_SIGNED_CERT_IN_CHAIN: 'OVL_CERT_UNTRUSTED',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'OVL_CERT_UNTRUSTED',
  CERT_SIGNATURE_FAILURE: 'OVL_CERT_UNTRUSTED',
  CERT_UNTRUSTED: 'OVL_CERT_UNTRUSTED',
  INVALID_PURPOSE: 'OVL_CERT_REJECTED',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'OVL_TLS_VERSION',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'OVL_TLS_VERSION',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'OVL_CERT_MISSING',
}

const REMOTE: Record<string, ErrorCode> = {
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'OVL_CERT_EXPIRED',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'OVL_CERT_UNTRUSTED',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'OVL_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'OVL_CERT_REJECTED',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'OVL_CERT_MISSING',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'OVL_TLS_VERSION',
}

export function mapTlsError(err: unknown): OverlayError {
  if (err instanceof OverlayError) return err
  const code = String((err as { code?: unknown })?.code ?? '')
  const message = (err as Error)?.message ?? String(err)
  const local = LOCAL[code]
  if (local) return new HandshakeError(local, `TLS: ${message}`, { cause: err })
  const remote = REMOTE[code]
  if (remote) return new HandshakeError(remote, `TLS: the peer refused: ${message}`, { cause: err, origin: 'remote' })
  return new HandshakeError('OVL_TLS_HANDSHAKE_FAILED', `TLS handshake failed: ${message}`, { cause: err })
}
