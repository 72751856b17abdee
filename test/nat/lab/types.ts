/** The shapes a lab hands out. */
import type { StdioOptions } from 'node:child_process'
import type { Miniupnpd } from './miniupnpd.js'
import type { Nat, UdpTimeouts } from './nat.js'

/**
 * RFC 4787 behaviours:
 * - easy: endpoint-independent mapping, address-and-port-dependent filtering (port-restricted cone)
 * - hard: address-and-port-dependent mapping and filtering (symmetric)
 * - double: an easy home NAT behind an easy carrier NAT
 * - upnp: easy NAT with a miniupnpd IGD on its LAN side
 * - udp-blocked: easy NAT that drops all UDP on its WAN side
 */
export type NatKind = 'easy' | 'hard' | 'double' | 'upnp' | 'udp-blocked'
export type NatType = 'open' | NatKind

export interface LabHost {
  readonly name: string
  /** Namespace name: pass the host itself (or this) to lab.exec / lab.spawn. */
  readonly ns: string
  /** The host's own address: 198.18.0.N for an open host, 198.19.N.M behind a NAT. */
  readonly address: string
  readonly natType: NatType
}

export interface PublicHost extends LabHost {
  readonly natType: 'open'
}

export interface NattedHost extends LabHost {
  readonly natType: NatKind
  /** The host's default gateway (its NAT's LAN address). */
  readonly gateway: string
  /** The NAT next to the host. */
  readonly nat: Nat
  /** Every NAT from the host outwards: [home], or [home, carrier] for 'double'. */
  readonly nats: readonly Nat[]
  /** The address the internet sees: the outermost NAT's WAN address. */
  readonly publicAddress: string
  /** The IGD of a 'upnp' host's NAT. */
  readonly upnp?: Miniupnpd
}

export interface NattedHostOptions {
  /** Applied to every NAT of the host. */
  udpTimeouts?: UdpTimeouts
  /** Packet loss in percent on the WAN side of the NAT next to the host. */
  lossPercent?: number
}

/** A namespace: its name, or anything with an `ns` (a host, a NAT). */
export type Where = string | { readonly ns: string }

export interface LabSpawnOptions {
  /** Default: the repository root. */
  cwd?: string
  /** Added to the environment (NODE_TEST_CONTEXT is always removed). */
  env?: NodeJS.ProcessEnv
  /** Default: 'pipe' for all three. */
  stdio?: StdioOptions
}
