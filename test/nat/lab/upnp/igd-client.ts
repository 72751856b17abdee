/**
 * Talks to the LAN's UPnP gateway with the nat-upnp package (the one the
 * project depends on), run inside a lab namespace:
 *   node --import tsx test/nat/lab/upnp/igd-client.ts '{"op":"externalIp"}'
 * Prints one JSON line (protocol.ts) and exits 0, or 1 on an error.
 */
import { createRequire } from 'node:module'
import type { UpnpAnswer, UpnpMapping, UpnpRequest } from './protocol.js'

type Callback<T> = (error: Error | null, value?: T) => void

/** The part of nat-upnp (callback-style CommonJS, no types) used here. */
interface NatUpnpClient {
  /** Milliseconds findGateway waits for an SSDP answer (default 1800). */
  timeout: number
  externalIp(callback: Callback<string>): void
  portMapping(options: { public: number; private: number; protocol: string; ttl: number; description?: string }, callback: Callback<unknown>): void
  portUnmapping(options: { public: number; protocol: string }, callback: Callback<unknown>): void
  getMappings(callback: Callback<UpnpMapping[]>): void
  close(): void
}

const natUpnp = createRequire(import.meta.url)('nat-upnp') as { createClient(): NatUpnpClient }

const SSDP_TIMEOUT_MS = 5_000

function call<T>(start: (callback: Callback<T>) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))))
}

async function answer(client: NatUpnpClient, request: UpnpRequest): Promise<UpnpAnswer> {
  switch (request.op) {
    case 'externalIp':
      return { ok: true, op: 'externalIp', ip: (await call<string>((cb) => client.externalIp(cb))) ?? '' }
    case 'map':
      await call((cb) => client.portMapping({ public: request.public, private: request.private, protocol: request.protocol, ttl: request.ttlSeconds, ...(request.description ? { description: request.description } : {}) }, cb))
      return { ok: true, op: 'map' }
    case 'unmap':
      await call((cb) => client.portUnmapping({ public: request.public, protocol: request.protocol }, cb))
      return { ok: true, op: 'unmap' }
    case 'mappings':
      return { ok: true, op: 'mappings', mappings: (await call<UpnpMapping[]>((cb) => client.getMappings(cb))) ?? [] }
  }
}

const client = natUpnp.createClient()
client.timeout = SSDP_TIMEOUT_MS
let result: UpnpAnswer
try {
  result = await answer(client, JSON.parse(process.argv[2] ?? '') as UpnpRequest)
} catch (error) {
  result = { ok: false, error: (error as Error).message }
}
client.close()
process.stdout.write(JSON.stringify(result) + '\n')
// nat-upnp's HTTP agent may keep sockets open: leave now.
process.exit(result.ok ? 0 : 1)
