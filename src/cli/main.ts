/**
 * The `overlay` command line. main(argv) returns the exit code; bin/overlay.js
 * only calls it, so tests drive the CLI in-process.
 */
import { Command, CommanderError } from 'commander'
import { ConfigError, CredentialError, isOverlayError, OverlayError } from '../errors.js'
import { caCommands } from './commands/ca.js'
import { certCommands } from './commands/cert.js'
import { identityCommands } from './commands/identity.js'
import { netcheckCommand } from './commands/netcheck.js'
import { startCommand } from './commands/start.js'
import { Output } from './output.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command()
    .name('overlay')
    .description('p2p-overlay: a secure, NAT-traversing peer-to-peer overlay network')
    .version('0.1.0')
    .exitOverride()
  // With --json, a usage error is one JSON line on stdout (main() writes it), like every other error.
  if (options.json) program.configureOutput({ writeErr: () => {}, outputError: () => {} })
  else program.showHelpAfterError('(run with --help for usage)')
  startCommand(program)
  netcheckCommand(program)
  identityCommands(program)
  caCommands(program)
  certCommands(program)
  return program
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json')
  const program = buildProgram({ json })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit with 0; commander has already printed them, and its own errors unless --json.
      if (err.exitCode === 0) return EXIT_OK
      if (json) new Output(true).error(new OverlayError('OVL_USAGE', err.message.replace(/^error: /, '')))
      return EXIT_USAGE
    }
    new Output(json).error(err)
    if (err instanceof ConfigError || err instanceof CredentialError || (isOverlayError(err) && err.code === 'OVL_USAGE')) return EXIT_USAGE
    return EXIT_FAILURE
  }
}
