/**
 * Checks a peer's certificate against the network CA. OpenSSL checks the
 * server certificate during the handshake on the client side; a server-side
 * TLSSocket outside a tls.Server does NOT reject a bad client certificate (it
 * only records the verify error), so both sides run this check after the
 * handshake, with OpenSSL's primitives (crypto.X509Certificate).
 */
import type crypto from 'node:crypto'
import { HandshakeError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import { commonName, nodeIdFromCertificate } from './pki/node-cert.js'

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

export interface PeerCertificateInfo {
  nodeId: NodeId
  name: string
  fingerprint: string
}

export function checkPeerCertificate(cert: crypto.X509Certificate | undefined, ca: crypto.X509Certificate, peerRole: 'client' | 'server', now = Date.now()): PeerCertificateInfo {
  if (cert === undefined) throw new HandshakeError('OVL_CERT_MISSING', 'the peer presented no certificate')
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new HandshakeError('OVL_CERT_UNTRUSTED', `certificate of "${commonName(cert.subject)}" is not signed by this network CA`)
  }
  if (now < Date.parse(cert.validFrom)) {
    throw new HandshakeError('OVL_CERT_NOT_YET_VALID', `certificate of "${commonName(cert.subject)}" is not valid before ${cert.validFrom}`)
  }
  if (now > Date.parse(cert.validTo)) {
    throw new HandshakeError('OVL_CERT_EXPIRED', `certificate of "${commonName(cert.subject)}" expired ${cert.validTo}`)
  }
  if (cert.ca) throw new HandshakeError('OVL_CERT_REJECTED', 'the peer presented a CA certificate as its node certificate')
  const usages = cert.keyUsage
  const needed = peerRole === 'client' ? EKU_CLIENT_AUTH : EKU_SERVER_AUTH
  if (usages !== undefined && !usages.includes(needed)) {
    throw new HandshakeError('OVL_CERT_REJECTED', `certificate is not for TLS ${peerRole} use`)
  }
  const nodeId = nodeIdFromCertificate(cert)
  if (nodeId === null) throw new HandshakeError('OVL_CERT_REJECTED', 'certificate names no node id')
  return { nodeId, name: commonName(cert.subject), fingerprint: cert.fingerprint256 }
}
