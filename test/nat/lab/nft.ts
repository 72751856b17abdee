/**
 * The nftables rulesets of the lab's NATs. Each NAT namespace has one table,
 * `ip lab`; a UPnP gateway also has the `inet filter` table miniupnpd writes to.
 */

/** What one NAT box does; a 'double' NAT is two 'easy' boxes in a row. */
export interface NatRules {
  /** The WAN interface name. */
  wan: string
  /** `masquerade random`: a fresh external port per destination (symmetric NAT). */
  randomPorts: boolean
  /** Drop every UDP packet crossing the WAN side. */
  blockUdp: boolean
}

export const LAB_TABLE = 'ip lab'

/**
 * Mapping: masquerade (keeps the source port when free: endpoint-independent)
 * or masquerade random (address-and-port-dependent). Filtering: new inbound on
 * the WAN side is dropped, both to the NAT itself and forwarded, unless a
 * port forward (DNAT, as miniupnpd writes) let it in: address-and-port-dependent
 * filtering as real routers do. Without the input rule, a punch packet that
 * arrives before the host has sent creates a conntrack entry on the NAT, and the
 * NAT then remaps the host's port (NAT-LAB.md).
 *
 * loss_in (before conntrack) and loss_out (after NAT) hold setLoss's rules.
 */
export function natRuleset({ wan, randomPorts, blockUdp }: NatRules): string {
  const w = JSON.stringify(wan)
  const udp = blockUdp ? [`iifname ${w} meta l4proto udp drop`, `oifname ${w} meta l4proto udp drop`] : []
  return `
table ${LAB_TABLE} {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname ${w} masquerade${randomPorts ? ' random' : ''}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ${udp[0] ?? ''}
    iifname ${w} ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ${udp.join('\n    ')}
    iifname ${w} ct state new ct status ! dnat drop
  }
  chain loss_in {
    type filter hook prerouting priority raw; policy accept;
  }
  chain loss_out {
    type filter hook postrouting priority 300; policy accept;
  }
}
`
}

/** Replaces the loss rules: each packet crossing the WAN side, either way, is dropped with `percent` % chance. */
export function lossScript(wan: string, percent: number): string {
  const w = JSON.stringify(wan)
  const lines = [`flush chain ${LAB_TABLE} loss_in`, `flush chain ${LAB_TABLE} loss_out`]
  if (percent > 0) {
    lines.push(`add rule ${LAB_TABLE} loss_in iifname ${w} numgen random mod 100 < ${percent} drop`)
    lines.push(`add rule ${LAB_TABLE} loss_out oifname ${w} numgen random mod 100 < ${percent} drop`)
  }
  return lines.join('\n') + '\n'
}

/**
 * The tables and chains miniupnpd (nftables backend, default names) adds its
 * rules to. Debian's /etc/miniupnpd/nft_init.sh would create them but is broken
 * (it sources a file the package lacks). The forward policy is accept: the
 * lab table does the filtering.
 */
export function miniupnpdTables(): string {
  return `
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump postrouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`
}
