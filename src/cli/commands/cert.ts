import type { Command } from 'commander'
import { OverlayError } from '../../errors.js'
import { Identity } from '../../identity/identity.js'
import { isNodeId } from '../../identity/node-id.js'
import { loadCa } from '../../session/pki/ca.js'
import { inspectCertificate, type CertificateReport } from '../../session/pki/inspect.js'
import { issueNodeCertificate, writeNodeCertificate } from '../../session/pki/node-cert.js'
import { Output } from '../output.js'
import { positiveInteger } from '../parse.js'

export function certCommands(program: Command): void {
  const cert = program.command('cert').description('node certificates')
  cert
    .command('issue')
    .description("issue a node certificate that names the node's Ed25519 identity; writes node.crt, node.key (0600) and ca.crt")
    .requiredOption('--ca <dir>', 'CA directory (ca.crt and ca.key)')
    .option('--identity <file>', "the node's identity file (overlay identity create)")
    .option('--node-id <id>', 'the node id alone, so the identity key never leaves its machine')
    .requiredOption('--name <name>', 'node name (certificate common name)')
    .requiredOption('--out <dir>', 'directory for the node certificate and key')
    .option('--days <n>', 'validity in days', positiveInteger('--days'), 365)
    .option('--force', 'replace an existing certificate and key')
    .option('--json', 'print JSON')
    .action(async (options: { ca: string; identity?: string; nodeId?: string; name: string; out: string; days: number; force?: boolean; json?: boolean }) => {
      if ((options.identity === undefined) === (options.nodeId === undefined)) {
        throw new OverlayError('OVL_USAGE', 'give exactly one of --identity FILE or --node-id ID')
      }
      const nodeId = options.nodeId ?? (await Identity.load(options.identity as string)).nodeId
      if (!isNodeId(nodeId)) throw new OverlayError('OVL_USAGE', `--node-id "${nodeId}" is not a node id (52 characters of base32)`)
      const ca = await loadCa(options.ca)
      const issued = issueNodeCertificate({ ca, nodeId, name: options.name, days: options.days })
      const files = await writeNodeCertificate(options.out, issued, ca, { force: options.force ?? false })
      new Output(options.json ?? false).result(
        { nodeId, name: options.name, ...files },
        `certificate for "${options.name}" (${nodeId})\n  certificate: ${files.certFile}\n  key:         ${files.keyFile} (mode 0600)\n  CA:          ${files.caFile}`,
      )
    })
  cert
    .command('inspect')
    .description('show subject, issuer, validity, node id and fingerprint; with --ca, whether it verifies')
    .argument('<file>', 'certificate file (PEM)')
    .option('--ca <dir-or-file>', 'check the certificate against this CA')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { ca?: string; json?: boolean }) => {
      const report = await inspectCertificate(file, options.ca === undefined ? {} : { ca: options.ca })
      new Output(options.json ?? false).result({ ...report }, formatReport(report))
      if (report.verification && !report.verification.verified) process.exitCode = 1
    })
}

function formatReport(r: CertificateReport): string {
  const lines = [
    `file:         ${r.file}`,
    `subject:      ${r.subject}`,
    `issuer:       ${r.issuer}`,
    `node id:      ${r.nodeId ?? '(none: not a node certificate)'}`,
    `valid from:   ${r.validFrom}`,
    `valid to:     ${r.validTo}  (${r.validity})`,
    `CA:           ${r.isCa ? 'yes' : 'no'}`,
    `serial:       ${r.serialNumber}`,
    `sha256:       ${r.fingerprintSha256}`,
  ]
  if (r.verification) {
    lines.push(`verifies:     ${r.verification.verified ? `yes, against ${r.verification.ca}` : `NO (${r.verification.reason}) against ${r.verification.ca}`}`)
  }
  return lines.join('\n')
}
