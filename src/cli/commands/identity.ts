import type { Command } from 'commander'
import { Identity } from '../../identity/identity.js'
import { Output } from '../output.js'

export function identityCommands(program: Command): void {
  const identity = program.command('identity').description('Ed25519 node identities')
  identity
    .command('create')
    .description('create a new identity file (mode 0600) and print its node id')
    .requiredOption('--out <file>', 'where to write the identity')
    .option('--force', 'replace an existing file (the old identity is lost)')
    .option('--json', 'print JSON')
    .action(async (options: { out: string; force?: boolean; json?: boolean }) => {
      const created = Identity.generate()
      await created.save(options.out, { force: options.force ?? false })
      new Output(options.json ?? false).result({ nodeId: created.nodeId, file: options.out }, `node id: ${created.nodeId}\nwritten: ${options.out} (mode 0600: keep it secret)`)
    })
  identity
    .command('show')
    .description('print the node id of an identity file')
    .argument('<file>', 'identity file')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      const loaded = await Identity.load(file)
      new Output(options.json ?? false).result({ nodeId: loaded.nodeId, file }, loaded.nodeId)
    })
}
