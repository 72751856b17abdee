// Types for the parts of nat-upnp (https://github.com/indutny/node-nat-upnp, v1.1.1) this
// project uses: callback-style CommonJS. src/nat/upnp/igd.ts wraps it in promises with time limits.
declare module 'nat-upnp' {
  import type { Socket } from 'node:dgram'

  export type Callback<T> = (error: Error | null, value?: T) => void

  /** A gateway found by SSDP: `run` sends one SOAP action to its WANIPConnection:1 (or WANPPPConnection:1) service. */
  export interface Device {
    /** The URL of its device description. */
    readonly description: string
    run(action: string, args: Array<[string, string | number | undefined]>, callback: Callback<Record<string, unknown>>): void
  }

  export interface Client {
    /** How long findGateway waits for an SSDP answer, ms (default 1800). */
    timeout: number
    readonly ssdp: { readonly sockets: Socket[] }
    /** Searches by SSDP; `address` is our interface address the answer came to. Calls back once. */
    findGateway(callback: (error: Error | null, gateway?: Device, address?: string) => void): void
    /** Closes the SSDP sockets. */
    close(): void
  }

  export function createClient(): Client
  const natUpnp: { createClient: typeof createClient }
  export default natUpnp
}
