/**
 * Names, address plan and limits of the NAT lab. Every lab address is in the
 * benchmarking range 198.18.0.0/15 (RFC 2544), except the UPnP gateways'
 * external addresses (see UPNP_EXTERNAL_NET).
 */
import { fileURLToPath } from 'node:url'

/** Every namespace of every lab starts with this; a run's prefix is `ovl-<pid>-<n>-`. */
export const LAB_PREFIX = 'ovl-'

/** The "internet": a bridge inside its own namespace, with a router at .1. */
export const INTERNET_NET = '198.18.0'
export const INTERNET_PREFIX_LEN = 24
export const INTERNET_ROUTER = `${INTERNET_NET}.1`
/** First and last host number handed out on the internet segment. */
export const FIRST_INTERNET_HOST = 10
export const LAST_INTERNET_HOST = 254

/** Home and carrier LANs are 198.19.N.0/24, N from 1 to 254; the NAT is .1, hosts from .2. */
export const HOME_NET_BASE = '198.19'
export const LAST_HOME_NET = 254
export const LAN_GATEWAY_HOST = 1
export const FIRST_LAN_HOST = 2

/**
 * miniupnpd refuses a reserved or private external address ("not public
 * routable"), 198.18/15 included. Each UPnP gateway gets one address from
 * 198.20.0.0/24, the first block past the benchmarking range: it exists only on
 * that gateway's WAN veth and as a /32 route in the lab's internet router, so
 * packets to it never leave the lab's namespaces.
 */
export const UPNP_EXTERNAL_NET = '198.20.0'
export const LAST_UPNP_EXTERNAL = 254

/** Interface names (IFNAMSIZ: at most 15 characters). Namespaces keep them apart. */
export const BRIDGE_IF = 'br0'
export const WAN_IF = 'wan'
export const LAN_IF = 'lan'
export const HOST_IF = 'eth0'
export const MAX_IFNAME_LEN = 15

/** Host names: short, so namespace names stay readable in `ip netns list`. */
export const HOST_NAME_PATTERN = /^[a-z][a-z0-9]{0,11}$/

/** miniupnpd's HTTP (SOAP) port on the LAN side of a UPnP gateway. */
export const UPNP_HTTP_PORT = 5000
export const MINIUPNPD_READY_TIMEOUT_MS = 10_000

/** Default time limit of a command run inside a namespace. */
export const EXEC_TIMEOUT_MS = 30_000
/** At destroy: how long a spawned process gets after SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 1_000

/** Debian packages the lab needs, with a command each provides. */
export const LAB_TOOLS = [
  { command: 'ip', pkg: 'iproute2' },
  { command: 'nft', pkg: 'nftables' },
  { command: 'conntrack', pkg: 'conntrack' },
  { command: 'miniupnpd', pkg: 'miniupnpd-nftables' },
] as const

/** The repository root: the working directory of everything spawned in the lab. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
