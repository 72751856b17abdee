/**
 * The NAT lab: real Linux NATs made of network namespaces and nftables, for
 * tests that run real processes behind them. Needs root (CI runs as root);
 * installs nftables, iproute2, conntrack and miniupnpd-nftables when missing.
 * README.md beside this file has the topology and the pitfalls.
 *
 * @example
 * import { labFor, UdpProbe } from './lab/index.js'
 *
 * it('a node behind an easy NAT joins a public node', async (t) => {
 *   const lab = await labFor(t)       // destroyed after t; a loud skip without root, a failure under CI=true
 *   if (!lab) return
 *   const [boot, home] = await Promise.all([lab.addPublicHost('boot'), lab.addNattedHost('home', 'easy')])
 *   // From source; cwd is the repository root. Give each node its own data directory.
 *   const node = lab.spawnNode(home, ['scripts/overlay.ts', 'start', '9001', boot.address, '9000', '--json'])
 *   node.stdout!.on('data', ...)       // JSON lines; commands go to node.stdin
 *   await home.nat.setUdpTimeouts({ udp: 2, stream: 2 })
 * })
 */
export { Lab } from './lab.js'
export { Nat, type UdpTimeouts } from './nat.js'
export type { ConntrackEntry, FlowTuple } from './conntrack.js'
export type { Miniupnpd } from './miniupnpd.js'
export type { LabHost, LabSpawnOptions, NatKind, NatType, NattedHost, NattedHostOptions, PublicHost, Where } from './types.js'
export { labEnv, runOk, type ExecOptions, type ExecResult } from './run.js'
export { LabError, LAB_ERROR_CODES, type LabErrorCode } from './errors.js'
export { labSupport, type LabSupport } from './support.js'
export { labFor, requireLab } from './testing.js'
export { listNamespaces } from './netns.js'
export { isRunning, pollUntil } from './poll.js'
export { UdpProbe, ProbeSocket, type ProbeMessage } from './probe/client.js'
export type { Endpoint } from './probe/protocol.js'
export { upnp } from './upnp/request.js'
export type { UpnpAnswer, UpnpMapping, UpnpRequest } from './upnp/protocol.js'
export * as LAB_CONSTANTS from './constants.js'
