/**
 * Structured logging with pino. Library code receives a Logger and never calls
 * console; the CLI decides where logs go (stderr, JSON or pretty). Keys and
 * certificates are never passed to a logger: the redact list is a second line
 * of defence for fields that might carry them.
 */
import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export const REDACTED_PATHS = ['key', 'privateKey', 'secretKey', '*.key', '*.privateKey', '*.secretKey', 'keyPem', '*.keyPem']

export function createLogger(options: { level: LogLevel; pretty: boolean; name?: string }): Logger {
  const base = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[secret]' },
    ...(options.name ? { name: options.name } : {}),
  }
  if (options.pretty) {
    // In-thread and synchronous: nothing is lost when the process exits right after a log line.
    return pino(base, pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }))
  }
  return pino(base, pino.destination({ dest: 2, sync: true }))
}

export const silentLogger: Logger = pino({ level: 'silent' })
