import path from 'node:path'
import type { Command } from 'commander'
import { createCa, CA_CERT_FILE, CA_KEY_FILE } from '../../session/pki/ca.js'
import { Output } from '../output.js'
import { positiveInteger } from '../parse.js'

export function caCommands(program: Command): void {
  const ca = program.command('ca').description('the network certificate authority')
  ca.command('create')
    .description('create a network CA: ca.crt (share it) and ca.key (mode 0600: guard it, see certs/README.md)')
    .requiredOption('--out <dir>', 'directory for ca.crt and ca.key')
    .option('--name <name>', 'CA common name', 'p2p-overlay network CA')
    .option('--days <n>', 'validity in days', positiveInteger('--days'), 3650)
    .option('--force', 'replace an existing CA (every certificate it issued stops being trusted)')
    .option('--json', 'print JSON')
    .action(async (options: { out: string; name: string; days: number; force?: boolean; json?: boolean }) => {
      const created = await createCa(options.out, { name: options.name, days: options.days, force: options.force ?? false })
      const certFile = path.join(options.out, CA_CERT_FILE)
      const keyFile = path.join(options.out, CA_KEY_FILE)
      new Output(options.json ?? false).result(
        { certificate: certFile, key: keyFile, name: options.name, validTo: created.cert.validity.notAfter.toISOString() },
        `network CA "${options.name}" created\n  certificate: ${certFile} (give to every node)\n  key:         ${keyFile} (mode 0600: keep offline)`,
      )
    })
}
