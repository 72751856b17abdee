/** `stats` for people: the node's figures, one per line, grouped. */
import type { Warning } from '../../metrics/warning.js'
import type { NodeStats } from '../../node/node.js'

export function renderStats(stats: NodeStats, warnings: Array<Omit<Warning, 'key'>> = []): string {
  const lines: Array<[string, string | number]> = [
    ['node', `${stats.name} ${stats.nodeId.slice(0, 12)} at ${stats.address ?? '-'}, up ${stats.uptimeS} s`],
    ['sessions', `${stats.sessions} (opened ${stats.sessionsOpened}, closed ${stats.sessionsClosed}, half-open ${stats.halfOpen}, dialing ${stats.pendingDials})`],
    ['known peers', stats.knownPeers],
    ['traffic', `in ${stats.bytesIn} B / ${stats.framesIn} frames, out ${stats.bytesOut} B / ${stats.framesOut} frames`],
    ['direct', `sent ${stats.direct.sent}, delivered ${stats.direct.delivered}, failed ${stats.direct.failed}, received ${stats.direct.received}, relayed ${stats.direct.relayed}, resent ${stats.direct.resent}, routes ${stats.routes}`],
    ['broadcast', `originated ${stats.broadcast.originated}, delivered ${stats.broadcast.delivered}, forwarded ${stats.broadcast.forwarded}, duplicates ${stats.broadcast.duplicates}, rejected ${stats.broadcast.rejected}`],
    ['heartbeats', `missed ${stats.heartbeatsMissed}, peers declared down ${stats.peersDeclaredDown}`],
    ['handshakes failed', stats.handshakeFailures],
    ['messages in', formatMap(stats.messagesIn)],
    ['rejected input', formatMap(stats.rejected)],
    ['warnings', warnings.length === 0 ? 'none' : warnings.map((w) => `${w.local ? 'here' : `at ${w.originName ?? w.origin.slice(0, 12)}`}: ${w.text}`).join('; ')],
  ]
  return lines.map(([k, v]) => `  ${k.padEnd(18)} ${v}`).join('\n')
}

function formatMap(map: Record<string, number>): string {
  const entries = Object.entries(map)
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ')
}
