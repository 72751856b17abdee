/** `overlay cert inspect`: what a certificate says, read by OpenSSL. */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { CredentialError } from '../../errors.js'
import { CA_CERT_FILE } from './ca.js'
import { commonName, nodeIdFromCertificate } from './node-cert.js'

export interface CertificateReport {
  file: string
  subject: string
  issuer: string
  name: string
  nodeId: string | null
  serialNumber: string
  validFrom: string
  validTo: string
  /** 'valid', 'expired' or 'not-yet-valid', judged against the local clock. */
  validity: 'valid' | 'expired' | 'not-yet-valid'
  isCa: boolean
  fingerprintSha256: string
  /** Present when a CA was given. */
  verification?: { ca: string; verified: boolean; reason?: string }
}

export async function readCertificate(file: string): Promise<crypto.X509Certificate> {
  let pem: string
  try {
    pem = await fs.readFile(file, 'utf8')
  } catch (cause) {
    throw new CredentialError('OVL_CERT_INVALID', `${file}: cannot read certificate`, { cause })
  }
  try {
    return new crypto.X509Certificate(pem)
  } catch (cause) {
    throw new CredentialError('OVL_CERT_INVALID', `${file}: not a PEM certificate`, { cause })
  }
}

/** `ca` may be a CA certificate file or a directory holding ca.crt. */
export async function resolveCaFile(ca: string): Promise<string> {
  const stat = await fs.stat(ca).catch(() => null)
  return stat?.isDirectory() ? path.join(ca, CA_CERT_FILE) : ca
}

export async function inspectCertificate(file: string, options: { ca?: string; now?: Date } = {}): Promise<CertificateReport> {
  const cert = await readCertificate(file)
  const now = (options.now ?? new Date()).getTime()
  const from = new Date(cert.validFrom).getTime()
  const to = new Date(cert.validTo).getTime()
  const report: CertificateReport = {
    file,
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    name: commonName(cert.subject),
    nodeId: nodeIdFromCertificate(cert),
    serialNumber: cert.serialNumber,
    validFrom: new Date(from).toISOString(),
    validTo: new Date(to).toISOString(),
    validity: now < from ? 'not-yet-valid' : now > to ? 'expired' : 'valid',
    isCa: cert.ca,
    fingerprintSha256: cert.fingerprint256,
  }
  if (options.ca !== undefined) {
    const caFile = await resolveCaFile(options.ca)
    const caCert = await readCertificate(caFile)
    let reason: string | undefined
    if (!caCert.ca) reason = `${caFile} is not a CA certificate`
    else if (!cert.checkIssued(caCert)) {
      // OpenSSL also matches the authority key identifier: two CAs of the same name differ there.
      reason = cert.issuer === caCert.subject ? 'issued by another CA of the same name (its key identifiers differ)' : 'issuer does not match the CA subject'
    }
    else if (!cert.verify(caCert.publicKey)) reason = 'signature does not verify with the CA key'
    else if (report.validity !== 'valid') reason = `certificate is ${report.validity}`
    report.verification = reason === undefined ? { ca: caFile, verified: true } : { ca: caFile, verified: false, reason }
  }
  return report
}
