/**
 * The node's own certificate, judged at start as every peer will judge it:
 * issued by the network CA in tls.ca, and valid now. A mistake is found here,
 * with the file named, rather than as every peer's refusal once the node runs.
 */
import crypto from 'node:crypto'
import { CredentialError } from '../../errors.js'
import type { TlsCredentials } from '../tls-context.js'

const DAY_MS = 86_400_000

/** Throws OVL_CERT_INVALID, OVL_CERT_UNTRUSTED, OVL_CERT_NOT_YET_VALID or OVL_CERT_EXPIRED; returns the days left. */
export function checkOwnCertificate(credentials: TlsCredentials, files: { ca: string; cert: string }, now = Date.now()): { daysLeft: number } {
  let cert: crypto.X509Certificate
  let ca: crypto.X509Certificate
  try {
    cert = new crypto.X509Certificate(credentials.cert)
    ca = new crypto.X509Certificate(credentials.ca)
  } catch (cause) {
    throw new CredentialError('OVL_CERT_INVALID', `${files.cert} or ${files.ca}: not a PEM certificate (${(cause as Error).message})`, { cause })
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new CredentialError('OVL_CERT_UNTRUSTED', `${files.cert} is not issued by the CA in ${files.ca} (tls.ca): every peer would refuse it`)
  }
  const validFrom = Date.parse(cert.validFrom)
  const validTo = Date.parse(cert.validTo)
  if (now < validFrom) throw new CredentialError('OVL_CERT_NOT_YET_VALID', `${files.cert} is not valid before ${cert.validFrom} (check this machine's clock)`)
  if (now > validTo) throw new CredentialError('OVL_CERT_EXPIRED', `${files.cert} expired ${cert.validTo}: issue a new one (overlay cert issue, or certs/add-node.sh)`)
  return { daysLeft: Math.floor((validTo - now) / DAY_MS) }
}
