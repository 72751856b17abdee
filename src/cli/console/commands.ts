/**
 * The commands of a running node, for the interactive prompt and for scripts.
 * Each prints through Output, so --json gives one JSON object per line.
 */
import { OverlayError } from '../../errors.js'
import { MessageType } from '../../messaging/messages.js'
import type { OverlayNode, OverlaySession } from '../../node/node.js'
import { parseHostPort } from '../../config/load.js'
import type { Output } from '../output.js'

export interface CommandContext {
  node: OverlayNode
  out: Output
  /** Graceful stop, then exit 0. */
  exit(): Promise<void>
}

interface CommandSpec {
  usage: string
  help: string
  run(args: string[], rest: string, ctx: CommandContext): Promise<void> | void
}

export const COMMANDS: Record<string, CommandSpec> = {
  help: {
    usage: 'help',
    help: 'list commands',
    run(_args, _rest, { out }) {
      const lines = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(28)} ${c.help}`)
      out.result({ commands: Object.values(COMMANDS).map((c) => ({ usage: c.usage, help: c.help })) }, lines.join('\n'))
    },
  },
  peers: {
    usage: 'peers',
    help: 'peers with a session: id, name, address, state',
    run(_args, _rest, { node, out }) {
      const peers = node.sessions().map(describeSession)
      const human = peers.length === 0 ? 'no peers' : peers.map((p) => `  ${p.id.slice(0, 12)}  ${p.name.padEnd(16)} ${p.address.padEnd(21)} ${p.state}`).join('\n')
      out.result({ command: 'peers', peers }, human)
    },
  },
  connect: {
    usage: 'connect <host:port>',
    help: 'open a session to a node',
    async run(args, _rest, { node, out }) {
      const target = args[0]
      if (!target) throw new OverlayError('OVL_USAGE', 'usage: connect <host:port>')
      const session = await node.connect(parseHostPort(target))
      out.result({ command: 'connect', peer: describeSession(session) }, `connected to ${session.peer.name} (${session.peer.nodeId.slice(0, 12)})`)
    },
  },
  send: {
    usage: 'send <peer> <message>',
    help: 'send a message to a peer (id, id prefix, name or host:port)',
    run(args, rest, { node, out }) {
      const ref = args[0]
      const text = rest.slice(rest.indexOf(ref ?? '') + (ref?.length ?? 0)).trim()
      if (!ref || !text) throw new OverlayError('OVL_USAGE', 'usage: send <peer> <message>')
      const session = resolvePeer(node, ref)
      session.send({ type: MessageType.Chat, text })
      out.result({ command: 'send', to: session.peer.nodeId, delivered: true }, `sent to ${session.peer.name}`)
    },
  },
  stats: {
    usage: 'stats',
    help: 'counters of this node',
    run(_args, _rest, { node, out }) {
      const counts = node.counts
      out.result({ command: 'stats', ...counts }, Object.entries(counts).map(([k, v]) => `  ${k.padEnd(14)} ${v}`).join('\n'))
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

export function describeSession(session: OverlaySession): { id: string; name: string; address: string; state: string } {
  return { id: session.peer.nodeId, name: session.peer.name, address: `${session.remote.host}:${session.remote.port}`, state: session.state }
}

/** A node id, a unique prefix of one, a node name, or host:port. */
export function resolvePeer(node: OverlayNode, ref: string): OverlaySession {
  const sessions = node.sessions()
  const matches = sessions.filter(
    (s) => s.peer.nodeId === ref || s.peer.name === ref || `${s.remote.host}:${s.remote.port}` === ref,
  )
  const candidates = matches.length > 0 ? matches : sessions.filter((s) => s.peer.nodeId.startsWith(ref))
  if (candidates.length === 1) return candidates[0] as OverlaySession
  if (candidates.length === 0) throw new OverlayError('OVL_USAGE', `no peer matches "${ref}"`)
  throw new OverlayError('OVL_USAGE', `"${ref}" matches ${candidates.length} peers; give more of the node id`)
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
    await spec.run(args, rest.slice((name as string).length).trim(), ctx)
  } catch (err) {
    ctx.out.error(err)
  }
}
