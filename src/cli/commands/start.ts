import { InvalidArgumentError, type Command } from 'commander'
import { loadConfig, type Override } from '../../config/load.js'
import { startOperatorServices, type OperatorServices } from '../../dashboard/operator.js'
import { createLogger, type LogLevel } from '../../log/logger.js'
import type { Warning } from '../../metrics/warning.js'
import { AddressKind, NatType } from '../../messaging/peer-record.js'
import type { OverlayNode } from '../../node/node.js'
import { COMMANDS, runCommandLine } from '../console/commands.js'
import { peerName } from '../../node/peer-info.js'
import { readLines } from '../console/line-source.js'
import { prepareNode } from '../node-setup.js'
import { Output } from '../output.js'
import { printable } from '../../util/printable.js'
import { collect, portNumber } from '../parse.js'

interface StartOptions {
  config?: string
  name?: string
  host?: string
  port?: number
  bootstrap?: string[]
  dataDir?: string
  json?: boolean
  logLevel?: LogLevel
  /** `--dashboard [HOST:]PORT` (parsed), or false for `--no-dashboard`. */
  dashboard?: { host?: string; port: number } | false
  /** false for `--no-upnp`. */
  upnp?: boolean
}

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('run a node (shorthand: start PORT [BOOTSTRAP_HOST BOOTSTRAP_PORT])')
    .argument('[port]', 'UDP port to listen on', portNumber('port'))
    .argument('[bootstrapHost]', 'host of a node to join through')
    .argument('[bootstrapPort]', 'port of that node', portNumber('bootstrap port'))
    .option('--config <file>', 'YAML config file (see config/)')
    .option('--name <name>', 'node name')
    .option('--host <address>', 'address to listen on')
    .option('--port <port>', 'UDP port to listen on', portNumber('--port'))
    .option('--bootstrap <host:port>', 'node to join through (repeatable)', collect)
    .option('--data-dir <dir>', 'directory for identity, certificate and peer cache')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--json', 'one JSON object per output line; logs as JSON on stderr')
    .option('--dashboard <[host:]port>', 'serve the web dashboard there (loopback by default; port 0: any free one)', dashboardAddress)
    .option('--no-dashboard', 'serve no dashboard (nor /metrics)')
    .option('--no-upnp', 'do not map the UDP port on the UPnP gateway (config: upnp: false)')
    .action(async (port: number | undefined, bootstrapHost: string | undefined, bootstrapPort: number | undefined, options: StartOptions) => {
      await runStart(port, bootstrapHost, bootstrapPort, options)
    })
}

async function runStart(port: number | undefined, bootstrapHost: string | undefined, bootstrapPort: number | undefined, options: StartOptions): Promise<void> {
  const out = new Output(options.json ?? false)
  const overrides: Override[] = []
  if (port !== undefined) overrides.push({ key: 'listen.port', value: port, flag: 'PORT argument' })
  if (options.port !== undefined) overrides.push({ key: 'listen.port', value: options.port, flag: '--port' })
  if (options.host !== undefined) overrides.push({ key: 'listen.host', value: options.host, flag: '--host' })
  if (options.name !== undefined) overrides.push({ key: 'name', value: options.name, flag: '--name' })
  if (options.dataDir !== undefined) overrides.push({ key: 'dataDir', value: options.dataDir, flag: '--data-dir' })
  if (options.logLevel !== undefined) overrides.push({ key: 'log.level', value: options.logLevel, flag: '--log-level' })
  if (options.dashboard === false) overrides.push({ key: 'dashboard.enabled', value: false, flag: '--no-dashboard' })
  if (options.upnp === false) overrides.push({ key: 'upnp', value: false, flag: '--no-upnp' })
  if (options.dashboard) {
    overrides.push({ key: 'dashboard.enabled', value: true, flag: '--dashboard' }, { key: 'dashboard.port', value: options.dashboard.port, flag: '--dashboard' })
    if (options.dashboard.host !== undefined) overrides.push({ key: 'dashboard.host', value: options.dashboard.host, flag: '--dashboard' })
  }
  const bootstrap = [...(options.bootstrap ?? [])]
  if (bootstrapHost !== undefined) bootstrap.push(`${bootstrapHost}:${bootstrapPort ?? 9000}`)
  if (bootstrap.length > 0) overrides.push({ key: 'bootstrap', value: bootstrap, flag: bootstrapHost ? 'BOOTSTRAP arguments' : '--bootstrap' })

  const config = await loadConfig(options.config ?? null, overrides)
  const logger = createLogger({ level: config.log.level, pretty: !out.json && config.log.format === 'pretty' })
  const { node, devCa, createdIdentity } = await prepareNode(config, logger)
  if (createdIdentity) logger.info({ file: config.identity }, 'created a new identity')
  if (devCa) {
    process.stderr.write(
      `WARNING: using the DEVELOPMENT CA in ${devCa}. Any node started from this directory trusts it.\n` +
        `         For a real network create a CA (certs/create-network.sh) and set tls: in the config.\n`,
    )
  }
  wireEvents(node, out)
  const operator = await startOperatorServices({ node, config, logger })
  wireWarnings(operator, out)
  try {
    await node.start()
  } catch (err) {
    // The dashboard is already listening: close it, or the failed node lives on.
    await operator.close()
    throw err
  }
  const { host, port: boundPort } = node.address
  const address = `${host}:${boundPort}`
  out.event(
    'ready',
    { nodeId: node.nodeId, name: node.name, address, devCa: devCa !== null, bootstrap: config.bootstrap.map((b) => `${b.host}:${b.port}`), dashboard: operator.dashboardUrl },
    `node "${node.name}" ${node.nodeId}\nlistening on udp ${address} — type "help" for commands` +
      (operator.dashboardUrl === null ? '' : `\ndashboard: ${operator.dashboardUrl}`) +
      (config.bootstrap.length === 0 ? `\nto start a second node that joins this one: npx overlay start ${boundPort + 1} 127.0.0.1 ${boundPort}` : ''),
  )

  let exiting: Promise<void> | null = null
  const exit = (): Promise<void> => {
    exiting ??= (async () => {
      lines.close()
      await operator.close()
      await node.stop()
      logger.flush?.()
      process.exit(0)
    })()
    return exiting
  }
  const lines = readLines({
    prompt: `${node.name}> `,
    completions: Object.keys(COMMANDS),
    onLine: (line) => runCommandLine(line, { node, out, exit, warnings: () => operator.warnings.active() }),
  })
  // On a terminal, lines that arrive while the operator types go above the prompt.
  if (lines.print) out.setSink({ write: lines.print })
  process.once('SIGINT', () => void exit())
  process.once('SIGTERM', () => void exit())
  process.on('SIGHUP', () => {
    loadConfig(options.config ?? null, overrides)
      .then((fresh) => {
        node.revocation.replace(fresh.revoked)
        logger.info({ revoked: fresh.revoked.length }, 'reloaded the revocation list')
      })
      .catch((err: Error) => logger.error({ code: (err as { code?: string }).code }, `reload failed, keeping the old list: ${err.message}`))
  })
  // Keep running until exit: the socket keeps the event loop alive.
  await new Promise<never>(() => {})
}

function wireEvents(node: OverlayNode, out: Output): void {
  const short = (id: string): string => id.slice(0, 12)
  node.on('peer:up', (session) => {
    const info = node.peers().find((p) => p.id === session.peerId)
    const peer = { id: session.peerId, name: session.peer.name, address: info?.address ?? `${session.remote.host}:${session.remote.port}`, direction: session.role === 'client' ? 'outbound' : 'inbound', link: info?.link ?? 'direct', via: info?.via ?? null }
    out.event('peer:up', { peer }, `+ ${printable(peer.name)} (${short(peer.id)}) at ${peer.address}, ${peer.direction}, ${peer.link}${peer.via ? ` via ${short(peer.via)}` : ''}`)
  })
  node.on('peer:down', (session, error) => {
    const peer = { id: session.peerId, name: session.peer.name, address: `${session.remote.host}:${session.remote.port}` }
    const reason = error ? error.code : 'closed'
    out.event('peer:down', { peer, reason, message: error?.message ?? null }, `- ${printable(peer.name)} (${short(peer.id)}): ${reason}${error ? ` (${printable(error.message)})` : ''}`)
  })
  node.on('record', (record) => {
    out.event('record', { id: record.nodeId, name: record.name, nat: NatType[record.nat].toLowerCase(), addresses: record.addresses.map((a) => a.address) }, `  learned of ${printable(record.name)} (${short(record.nodeId)})`)
  })
  node.on('punch', (o) => {
    out.event('punch', { peer: o.target, role: o.role, method: o.method, ok: o.ok, ms: Math.round(o.elapsedMs), probes: o.probesSent, error: o.error ?? null }, `punch ${o.ok ? 'opened a path' : 'failed'} with ${short(o.target)} (${o.method}, ${Math.round(o.elapsedMs)} ms, ${o.probesSent} probes)`)
  })
  node.on('upnp', (external) => {
    const mapped = external ? `${external.host}:${external.port}` : null
    out.event('upnp', { mapped }, mapped ? `UPnP: port mapped at ${mapped} (seen to work)` : 'UPnP: port mapping gone')
  })
  node.on('netcheck', (report) => {
    const reflexive = report.reflexive ? `${report.reflexive.host}:${report.reflexive.port}` : null
    out.event('netcheck', { nat: report.behaviour, reflexive, reason: report.reason, upnp: node.self.record.addresses.find((a) => a.kind === AddressKind.Mapped)?.address ?? null }, `netcheck: NAT ${report.behaviour}${reflexive ? `, reachable at ${reflexive}` : ''}`)
  })
  node.on('chat', (chat) => {
    const name = peerName(node, chat.from) ?? short(chat.from)
    const how = chat.broadcast ? 'broadcast' : chat.via === 'session' ? 'direct' : `direct, routed ${chat.hops} hops`
    out.event('message', { from: chat.from, name, text: chat.text, broadcast: chat.broadcast, via: chat.via, hops: chat.hops }, `[${printable(name)}] (${how}) ${printable(chat.text)}`)
  })
}

/** `--dashboard [HOST:]PORT`. */
function dashboardAddress(value: string): { host?: string; port: number } {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5})$/.exec(value)
  if (match === null || Number(match[2]) > 65535) throw new InvalidArgumentError(`--dashboard expects [HOST:]PORT, such as 8080 or 127.0.0.1:8080, got "${value}"`)
  return match[1] === undefined ? { port: Number(match[2]) } : { host: match[1], port: Number(match[2]) }
}

/** Warnings raised here or received from other nodes: `warning` and `warning:cleared` events. */
function wireWarnings(operator: OperatorServices, out: Output): void {
  const where = (w: Warning): string => (w.local ? 'here' : `at ${printable(w.originName ?? w.origin.slice(0, 12))}`)
  const fields = ({ key: _key, ...warning }: Warning): Record<string, unknown> => warning
  operator.warnings.on('raised', (w) => out.event('warning', fields(w), `! warning ${where(w)}: ${printable(w.text)}`))
  operator.warnings.on('cleared', (w) => out.event('warning:cleared', fields(w), `✓ cleared ${where(w)}: ${printable(w.text)}`))
}
