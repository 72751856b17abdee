/**
 * The `overlay` command line. main(argv) returns the exit code; bin/overlay.js
 * only calls it, so tests drive the CLI in-process.
 */
import { Command, CommanderError } from 'commander'
import { ConfigError, CredentialError, isOverlayError } from '../errors.js'
import { caCommands } from './commands/ca.js'
import { certCommands } from './commands/cert.js'
import { identityCommands } from './commands/identity.js'
import { netcheckCommand } from './commands/netcheck.js'
import { startCommand } from './commands/start.js'
import { Output } from './output.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function buildProgram(): Command {
  const program = new Command()
    .name('overlay')
    .description('p2p-overlay: a secure, NAT-traversing peer-to-peer overlay network')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
  startCommand(program)
  netcheckCommand(program)
  identityCommands(program)
  caCommands(program)
  certCommands(program)
  return program
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit with 0; commander has already printed them.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
    }
    new Output(argv.includes('--json')).error(err)
    if (err instanceof ConfigError || err instanceof CredentialError || (isOverlayError(err) && err.code === 'OVL_USAGE')) return EXIT_USAGE
    return EXIT_FAILURE
  }
}
