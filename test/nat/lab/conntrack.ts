/** Reading a namespace's conntrack table (`conntrack -L`). */

export interface FlowTuple {
  src: string
  dst: string
  sport: number
  dport: number
}

export interface ConntrackEntry {
  protocol: string
  /** Seconds until the entry expires. */
  timeoutSeconds: number
  /** As the first packet was seen: for a NAT mapping, LAN host → remote. */
  original: FlowTuple
  /** As replies are expected: remote → the NAT's external address and port. */
  reply: FlowTuple
  unreplied: boolean
}

/** Parses `conntrack -L` lines such as
 *  `udp 17 28 src=198.19.1.2 dst=198.18.0.10 sport=4000 dport=5000 [UNREPLIED] src=198.18.0.10 dst=198.18.0.11 sport=5000 dport=4000 mark=0 use=1` */
export function parseConntrack(text: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = []
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/)
    const [protocol, , timeout] = words
    if (protocol === undefined || timeout === undefined || !/^\d+$/.test(timeout)) continue
    const tuples: Partial<Record<keyof FlowTuple, string>>[] = [{}, {}]
    for (const word of words.slice(3)) {
      const [key, value] = word.split('=') as [string, string | undefined]
      if (value === undefined || !['src', 'dst', 'sport', 'dport'].includes(key)) continue
      const tuple = tuples[0]![key as keyof FlowTuple] === undefined ? tuples[0]! : tuples[1]!
      tuple[key as keyof FlowTuple] ??= value
    }
    const [original, reply] = tuples.map(toTuple)
    if (!original || !reply) continue
    entries.push({ protocol, timeoutSeconds: Number(timeout), original, reply, unreplied: words.includes('[UNREPLIED]') })
  }
  return entries
}

function toTuple(raw: Partial<Record<keyof FlowTuple, string>>): FlowTuple | undefined {
  if (raw.src === undefined || raw.dst === undefined) return undefined
  return { src: raw.src, dst: raw.dst, sport: Number(raw.sport ?? 0), dport: Number(raw.dport ?? 0) }
}
