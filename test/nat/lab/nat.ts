/** One NAT box: a namespace between a LAN and a WAN, with knobs a test can turn. */
import { parseConntrack, type ConntrackEntry } from './conntrack.js'
import { LabError } from './errors.js'
import type { Netns } from './netns.js'
import { lossScript, type NatRules } from './nft.js'

/** Per-namespace conntrack UDP timeouts, in seconds (kernel defaults: 30 and 120). */
export interface UdpTimeouts {
  /** net.netfilter.nf_conntrack_udp_timeout: a mapping until a reply is seen, and in its first 2 s after. */
  udp?: number
  /** net.netfilter.nf_conntrack_udp_timeout_stream: a mapping that has seen replies for more than 2 s. */
  stream?: number
}

export interface NatInit {
  name: string
  netns: Netns
  rules: NatRules
  /** The address the next hop out sees: on the internet segment, or on a carrier LAN. */
  wanAddress: string
  lanAddress: string
  lanCidr: string
}

export class Nat {
  readonly name: string
  /** Namespace name, for lab.exec / lab.spawn. */
  readonly ns: string
  readonly wanAddress: string
  readonly lanAddress: string
  readonly lanCidr: string
  readonly rules: Readonly<NatRules>
  readonly #netns: Netns

  constructor(init: NatInit) {
    this.name = init.name
    this.ns = init.netns.name
    this.#netns = init.netns
    this.rules = Object.freeze({ ...init.rules })
    this.wanAddress = init.wanAddress
    this.lanAddress = init.lanAddress
    this.lanCidr = init.lanCidr
  }

  /** Lowers (or raises) how long idle UDP mappings live. Entries already there keep their timer until their next packet. */
  async setUdpTimeouts(timeouts: UdpTimeouts): Promise<void> {
    const settings: Record<string, number> = {}
    if (timeouts.udp !== undefined) settings['net.netfilter.nf_conntrack_udp_timeout'] = seconds(timeouts.udp, 'udp')
    if (timeouts.stream !== undefined) settings['net.netfilter.nf_conntrack_udp_timeout_stream'] = seconds(timeouts.stream, 'stream')
    if (Object.keys(settings).length > 0) await this.#netns.runOk(['sysctl', '-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)])
  }

  /** A NAT reboot: forgets every mapping (conntrack -F in this namespace only). */
  async flushConntrack(): Promise<void> {
    await this.#netns.runOk(['conntrack', '-F'])
  }

  /** Drops `percent` % of the packets crossing the WAN side, in both directions; 0 removes the rule. */
  async setLoss(percent: number): Promise<void> {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`setLoss: percent must be an integer 0..100, got ${percent}`)
    await this.#netns.nft(lossScript(this.rules.wan, percent))
  }

  /** The UDP conntrack entries (mappings) of this NAT. */
  async udpMappings(): Promise<ConntrackEntry[]> {
    const result = await this.#netns.run(['conntrack', '-L', '-p', 'udp'])
    if (result.code !== 0) throw new LabError('LAB_COMMAND_FAILED', `conntrack -L in ${this.ns}: ${result.stderr.trim()}`)
    return parseConntrack(result.stdout)
  }
}

function seconds(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`setUdpTimeouts: ${what} must be a whole number of seconds >= 1, got ${value}`)
  return value
}
