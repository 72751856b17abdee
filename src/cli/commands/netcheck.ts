/**
 * `overlay netcheck`: what the network does to UDP from here, like `tailscale
 * netcheck`. Binds its own ephemeral socket (it is not a running node), asks
 * the STUN servers from it, looks for a UPnP gateway, prints the report.
 */
import type { Command } from 'commander'
import { loadConfig, type Override } from '../../config/load.js'
import { localAddresses } from '../../nat/local.js'
import { netcheck, type NetcheckReport } from '../../nat/netcheck.js'
import { parseServer } from '../../nat/resolve.js'
import { StunEndpoint } from '../../nat/stun/endpoint.js'
import { probeUpnp } from '../../nat/upnp/probe.js'
import { NETCHECK_DEFAULT_TIMEOUT_MS } from '../../nat/constants.js'
import { UdpSocket } from '../../transport/udp-socket.js'
import type { RemoteAddress } from '../../transport/connection.js'
import { Output } from '../output.js'
import { collect, positiveInteger } from '../parse.js'

interface NetcheckOptions {
  config?: string
  stun?: string[]
  json?: boolean
  /** false for `--no-upnp`. */
  upnp?: boolean
  timeout?: number
}

export function netcheckCommand(program: Command): void {
  program
    .command('netcheck')
    .description('report the NAT in front of this host: reflexive address, NAT type, UPnP gateway, STUN round trips')
    .option('--stun <host:port>', 'STUN server to ask (repeatable; replaces the config\'s stun: list; default: config, else the bootstrap peers)', collect)
    .option('--config <file>', 'YAML config file: its stun:, bootstrap: and upnp: are used')
    .option('--no-upnp', 'do not look for a UPnP gateway')
    .option('--timeout <ms>', `how long to wait for answers (default ${NETCHECK_DEFAULT_TIMEOUT_MS})`, positiveInteger('--timeout'))
    .option('--json', 'print the report as one JSON object')
    .action(async (options: NetcheckOptions) => {
      await runNetcheck(options)
    })
}

async function runNetcheck(options: NetcheckOptions): Promise<void> {
  const out = new Output(options.json ?? false)
  const overrides: Override[] = []
  if (options.stun !== undefined) overrides.push({ key: 'stun', value: options.stun, flag: '--stun' })
  if (options.upnp === false) overrides.push({ key: 'upnp', value: false, flag: '--no-upnp' })
  const config = await loadConfig(options.config ?? null, overrides)
  const servers: RemoteAddress[] = config.stun.length > 0 ? config.stun.map(parseServer) : config.bootstrap.map((b) => ({ host: b.host, port: b.port }))

  const socket = new UdpSocket()
  const bound = socket.bind(0, '0.0.0.0')
  const stun = new StunEndpoint({ socket, serve: false })
  try {
    const report = await netcheck({
      stun,
      servers,
      local: localAddresses(bound),
      timeoutMs: options.timeout ?? NETCHECK_DEFAULT_TIMEOUT_MS,
      ...(config.upnp ? { upnp: probeUpnp } : {}),
    })
    out.result(jsonReport(report, bound.port), humanReport(report, bound.port, config.stun.length > 0 ? 'stun' : 'bootstrap'))
  } finally {
    stun.close()
    await socket.close()
  }
}

const show = (a: RemoteAddress | null): string | null => (a === null ? null : `${a.host}:${a.port}`)

function jsonReport(report: NetcheckReport, localPort: number): Record<string, unknown> {
  return {
    nat: report.behaviour,
    udp: report.servers.some((s) => s.mapped !== null),
    reflexive: show(report.reflexive),
    mappingVariesByDestination: report.mappingVaries,
    reason: report.reason,
    localPort,
    upnp: report.upnp,
    servers: report.servers.map((s) => ({ server: s.server, address: show(s.address), mapped: show(s.mapped), rttMs: s.rttMs, error: s.error })),
    durationMs: report.durationMs,
  }
}

const NAT_WORDS: Record<NetcheckReport['behaviour'], string> = {
  open: 'open (no NAT)',
  easy: 'easy (endpoint-independent mapping)',
  hard: 'hard (mapping varies by destination)',
  blocked: 'UDP blocked',
  unknown: 'unknown',
}

function humanReport(report: NetcheckReport, localPort: number, source: 'stun' | 'bootstrap'): string {
  const yesNo = (v: boolean | null): string => (v === null ? 'cannot tell' : v ? 'yes' : 'no')
  const upnp = report.upnp === null ? 'not checked (--no-upnp)' : report.upnp.found ? `yes, gateway ${report.upnp.gateway}${report.upnp.externalIp ? `, external IP ${report.upnp.externalIp}` : ` (${report.upnp.error?.message ?? 'no external IP'})`}` : `no (${report.upnp.error?.message ?? 'no gateway'})`
  const servers = report.servers.map((s) => {
    const where = s.address && `${s.address.host}:${s.address.port}` !== s.server ? `${s.server} (${s.address.host})` : s.server
    return s.error ? `      - ${where}: ${s.error.message} [${s.error.code}]` : `      - ${where}: ${s.rttMs} ms, saw ${show(s.mapped)}`
  })
  return [
    `Report (${report.durationMs} ms, from local UDP port ${localPort}):`,
    `  * UDP:          ${yesNo(report.servers.some((s) => s.mapped !== null))}`,
    `  * reflexive:    ${show(report.reflexive) ?? '-'}`,
    `  * NAT type:     ${NAT_WORDS[report.behaviour]}: ${report.reason}`,
    `  * mapping varies by destination: ${yesNo(report.mappingVaries)}`,
    `  * UPnP gateway: ${upnp}`,
    `  * STUN servers (${source === 'stun' ? 'stun:' : 'bootstrap peers'}):`,
    ...servers,
  ].join('\n')
}
