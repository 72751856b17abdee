import crypto from 'node:crypto'
import tls from 'node:tls'
import { CredentialError } from '../errors.js'
import { nodeIdFromCertificate, commonName } from './pki/node-cert.js'
import type { NodeId } from '../identity/node-id.js'

/** PEM contents of the network CA certificate, this node's certificate and its TLS key. */
export interface TlsCredentials {
  ca: string
  cert: string
  key: string
}

/**
 * Everything the session layer needs from the credentials, parsed once: a
 * TLS 1.3-only context whose only trust root is the network CA (the system
 * roots are not used), and the CA certificate for checking client certificates.
 */
export class TlsConfig {
  readonly context: tls.SecureContext
  readonly caCert: crypto.X509Certificate
  readonly ownCert: crypto.X509Certificate
  readonly ownNodeId: NodeId
  readonly ownName: string

  constructor(credentials: TlsCredentials) {
    try {
      this.caCert = new crypto.X509Certificate(credentials.ca)
      this.ownCert = new crypto.X509Certificate(credentials.cert)
      this.context = tls.createSecureContext({
        ca: credentials.ca,
        cert: credentials.cert,
        key: credentials.key,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        // Sessions are never resumed (every session proves its binding afresh): no stateless
        // tickets (2.6 KB a handshake). TLS 1.3 in OpenSSL then still sends a small stateful
        // ticket (about 160 B), which no cache here ever stores (Node keeps no internal one).
        secureOptions: crypto.constants.SSL_OP_NO_TICKET,
      })
    } catch (cause) {
      throw new CredentialError('OVL_CERT_INVALID', `TLS credentials are unusable: ${(cause as Error).message}`, { cause })
    }
    const id = nodeIdFromCertificate(this.ownCert)
    if (id === null) throw new CredentialError('OVL_CERT_NO_NODE_ID', 'this node certificate names no node id')
    this.ownNodeId = id
    this.ownName = commonName(this.ownCert.subject)
  }
}
