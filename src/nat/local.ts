/** The addresses a socket is reachable at on this host: what "no NAT" looks like to a STUN server. */
import os from 'node:os'
import type { RemoteAddress } from '../transport/connection.js'

/** `bound` itself, or for a socket bound to 0.0.0.0 every IPv4 interface address (loopback included) with its port. */
export function localAddresses(bound: RemoteAddress): RemoteAddress[] {
  if (bound.host !== '0.0.0.0') return [{ host: bound.host, port: bound.port }]
  const addresses: RemoteAddress[] = []
  for (const infos of Object.values(os.networkInterfaces())) {
    for (const info of infos ?? []) if (info.family === 'IPv4') addresses.push({ host: info.address, port: bound.port })
  }
  return addresses
}

/** Private, carrier-grade NAT, loopback, link-local and "this network" IPv4 space: not reachable from the internet. */
export function isNonPublicIPv4(host: string): boolean {
  const parts = host.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return true
  const [a, b] = parts as [number, number, number, number]
  return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
}
