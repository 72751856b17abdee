/**
 * The commands of a running node, for the interactive prompt and for scripts.
 * Each prints through Output, so --json gives one JSON object per line.
 */
import { parseHostPort } from '../../config/load.js'
import { OverlayError } from '../../errors.js'
import type { OverlayNode } from '../../node/node.js'
import { peerName, type PeerInfo } from '../../node/peer-info.js'
import type { Output } from '../output.js'
import type { Warning } from '../../metrics/warning.js'
import { printable } from '../../util/printable.js'
import { renderStats } from './stats.js'

export interface CommandContext {
  node: OverlayNode
  out: Output
  /** Active warnings (raised here or received), when the operator services run. */
  warnings?: () => Warning[]
  /** Graceful stop (LEAVE to every peer), then exit 0. */
  exit(): Promise<void>
}

interface CommandSpec {
  usage: string
  help: string
  run(args: string[], rest: string, ctx: CommandContext): Promise<void> | void
}

const HOST_PORT = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/

function usage(spec: string): OverlayError {
  return new OverlayError('OVL_USAGE', `usage: ${spec}`)
}

/** The text after the first `skip` words of `rest`, spacing kept. */
function textAfter(rest: string, skip: number): string {
  let text = rest.trimStart()
  for (let i = 0; i < skip; i++) text = text.replace(/^\S+\s*/, '')
  return text.trim()
}

export const COMMANDS: Record<string, CommandSpec> = {
  help: {
    usage: 'help',
    help: 'list commands',
    run(_args, _rest, { out }) {
      const lines = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(28)} ${c.help}`)
      out.result({ command: 'help', commands: Object.values(COMMANDS).map((c) => ({ usage: c.usage, help: c.help })) }, lines.join('\n'))
    },
  },
  peers: {
    usage: 'peers',
    help: 'peers with a session: id, name, address, state, round trip, how connected',
    run(_args, _rest, { node, out }) {
      const peers = node.peers()
      const known = node.knownPeers().length
      out.result({ command: 'peers', peers, known }, renderPeers(peers, known))
    },
  },
  connect: {
    usage: 'connect <host:port | peer>',
    help: 'open a session, kept from then on: to an address, or to a known node by any path (direct, punched, relayed)',
    async run(args, _rest, { node, out }) {
      const target = args[0]
      if (!target || args.length > 1) throw usage(this.usage)
      const started = performance.now()
      const session = HOST_PORT.test(target) ? await node.connect(parseHostPort(target)) : await node.connectPeer(node.resolve(target), { keep: true })
      const peer = node.peers().find((p) => p.id === session.peerId)
      const link = peer?.link ?? 'direct'
      const via = peer?.via ? node.session(peer.via)?.peer.name ?? peer.via.slice(0, 12) : null
      out.result(
        { command: 'connect', peer: { id: session.peerId, name: session.peer.name, address: peer?.address ?? `${session.remote.host}:${session.remote.port}`, link, via }, ms: Math.round(performance.now() - started) },
        `connected to ${printable(session.peer.name)} (${session.peerId.slice(0, 12)}), ${link}${via ? ` via ${printable(via)}` : ''}`,
      )
    },
  },
  send: {
    usage: 'send <peer> <message>',
    help: 'send a message to any node (id, id prefix, name or host:port); waits for its acknowledgement',
    async run(args, rest, { node, out }) {
      const text = textAfter(rest, 1)
      if (!args[0] || !text) throw usage(this.usage)
      const target = node.resolve(args[0])
      const receipt = await node.send(target, text)
      const name = nameOf(node, target)
      out.result(
        { command: 'send', to: target, name, delivered: true, via: receipt.via, hops: receipt.hops, rttMs: round(receipt.rttMs) },
        `delivered to ${printable(name)} (${receipt.via === 'session' ? 'direct session' : `routed, ${receipt.hops} hop${receipt.hops === 1 ? '' : 's'}`}, ${round(receipt.rttMs)} ms)`,
      )
    },
  },
  broadcast: {
    usage: 'broadcast <message>',
    help: 'send a message to every node of the network',
    run(_args, rest, { node, out }) {
      const text = textAfter(rest, 0)
      if (!text) throw usage(this.usage)
      const { seq, sentTo } = node.broadcast(text)
      out.result({ command: 'broadcast', seq, sentTo }, `broadcast to the network (${sentTo} peer${sentTo === 1 ? '' : 's'} first)`)
    },
  },
  ping: {
    usage: 'ping <peer>',
    help: 'round trip to a node: over its session, or through the overlay',
    async run(args, _rest, { node, out }) {
      if (!args[0] || args.length > 1) throw usage(this.usage)
      const target = node.resolve(args[0])
      const { rttMs, via, hops } = await node.ping(target)
      const name = nameOf(node, target)
      out.result({ command: 'ping', to: target, name, rttMs: round(rttMs), via, hops }, `pong from ${printable(name)}: ${round(rttMs)} ms (${via === 'session' ? 'direct session' : `routed, ${hops} hops`})`)
    },
  },
  stats: {
    usage: 'stats',
    help: 'counters of this node',
    run(_args, _rest, ctx) {
      const { node, out } = ctx
      const stats = node.stats()
      const warnings = (ctx.warnings?.() ?? []).map(({ key: _key, ...w }) => w)
      out.result({ command: 'stats', ...stats, warnings }, renderStats(stats, warnings))
    },
  },
  exit: {
    usage: 'exit',
    help: 'leave the network gracefully and stop',
    async run(_args, _rest, ctx) {
      await ctx.exit()
    },
  },
}

function nameOf(node: OverlayNode, id: string): string {
  return peerName(node, id) ?? id.slice(0, 12)
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

function renderPeers(peers: PeerInfo[], known: number): string {
  if (peers.length === 0) return `no sessions (${known} peer${known === 1 ? '' : 's'} known)`
  const header = `  ${'id'.padEnd(12)}  ${'name'.padEnd(16)} ${'address'.padEnd(21)} ${'state'.padEnd(6)} ${'rtt'.padStart(9)}  link`
  const rows = peers.map((p) => {
    const rtt = p.rttMs === null ? '-' : `${p.rttMs.toFixed(2)} ms`
    const link = p.via ? `${p.link} via ${p.via.slice(0, 12)}` : p.link
    return `  ${p.id.slice(0, 12)}  ${printable(p.name).padEnd(16)} ${p.address.padEnd(21)} ${p.state.padEnd(6)} ${rtt.padStart(9)}  ${link}, ${p.direction}`
  })
  return [header, ...rows, `  ${peers.length} session${peers.length === 1 ? '' : 's'}, ${known} peer${known === 1 ? '' : 's'} known`].join('\n')
}

export async function runCommandLine(line: string, ctx: CommandContext): Promise<void> {
  const rest = line.trim()
  if (rest === '') return
  const [name, ...args] = rest.split(/\s+/)
  const spec = COMMANDS[name as string]
  if (!spec) {
    ctx.out.error(new OverlayError('OVL_USAGE', `unknown command "${name}" (try: help)`))
    return
  }
  try {
    await spec.run(args, rest.slice((name as string).length), ctx)
  } catch (err) {
    ctx.out.error(err)
  }
}
