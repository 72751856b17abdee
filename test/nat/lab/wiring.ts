/**
 * The cables: veth pairs and bridges between the lab's own namespaces. Every
 * veth is created from inside a lab namespace with its peer moved straight into
 * another lab namespace, so the host's root namespace never holds a lab
 * interface and nothing in the lab has a route to the host's real network.
 */
import { BRIDGE_IF, HOST_IF, INTERNET_PREFIX_LEN, INTERNET_ROUTER, LAN_IF, MAX_IFNAME_LEN } from './constants.js'
import type { Netns } from './netns.js'

function ifname(name: string): string {
  if (name.length > MAX_IFNAME_LEN) throw new RangeError(`interface name ${name} is longer than ${MAX_IFNAME_LEN} characters`)
  return name
}

/** The internet: a bridge with the router's address; the router forwards (to UPnP gateways' /32 addresses). */
export async function wireInternet(internet: Netns): Promise<void> {
  await internet.sysctl({
    'net.ipv4.ip_forward': 1,
    // Forwarding back out of br0 (to a UPnP gateway) must not teach hosts a shortcut.
    'net.ipv4.conf.all.send_redirects': 0,
    'net.ipv4.conf.default.send_redirects': 0,
  })
  await internet.ip(`link add ${BRIDGE_IF} type bridge mcast_snooping 0`, `addr add ${INTERNET_ROUTER}/${INTERNET_PREFIX_LEN} dev ${BRIDGE_IF}`, `link set ${BRIDGE_IF} up`)
}

/** A veth from a port on `bridgeNs`'s bridge to interface `inner` in `inner`'s namespace. */
async function plug(bridgeNs: Netns, bridge: string, port: string, inner: Netns, innerIf: string): Promise<void> {
  await bridgeNs.ip(`link add ${ifname(port)} type veth peer name ${ifname(innerIf)} netns ${inner.name}`, `link set ${port} master ${bridge}`, `link set ${port} up`)
}

/** A host or NAT WAN on the internet segment, 198.18.0.N/24, default route via the router. */
export async function wireToInternet(internet: Netns, port: string, netns: Netns, innerIf: string, address: string): Promise<void> {
  await plug(internet, BRIDGE_IF, port, netns, innerIf)
  await netns.ip(`addr add ${address}/${INTERNET_PREFIX_LEN} dev ${innerIf}`, `link set ${innerIf} up`, `route add default via ${INTERNET_ROUTER}`)
}

/**
 * A UPnP gateway's WAN: only its non-reserved external address, as a /32, with
 * on-link routes to the router; the router routes that /32 back out of br0.
 */
export async function wireExternalToInternet(internet: Netns, port: string, netns: Netns, innerIf: string, external: string): Promise<void> {
  await plug(internet, BRIDGE_IF, port, netns, innerIf)
  await netns.ip(
    `addr add ${external}/32 dev ${innerIf}`,
    `link set ${innerIf} up`,
    `route add ${INTERNET_ROUTER}/32 dev ${innerIf} scope link`,
    `route add default via ${INTERNET_ROUTER} dev ${innerIf} onlink`,
  )
  await internet.ip(`route add ${external}/32 dev ${BRIDGE_IF}`)
}

/** The LAN side of a NAT: a bridge (so more hosts can join) with the gateway address. */
export async function wireLan(nat: Netns, gateway: string): Promise<void> {
  await nat.ip(`link add ${LAN_IF} type bridge mcast_snooping 0`, `addr add ${gateway}/24 dev ${LAN_IF}`, `link set ${LAN_IF} up`)
}

/** A host (or an inner NAT's WAN) on a NAT's LAN, default route via the NAT. */
export async function wireToLan(nat: Netns, port: string, inner: Netns, address: string, gateway: string, innerIf: string = HOST_IF): Promise<void> {
  await plug(nat, LAN_IF, port, inner, innerIf)
  await inner.ip(`addr add ${address}/24 dev ${innerIf}`, `link set ${innerIf} up`, `route add default via ${gateway}`)
}
