// Types for the parts of udx-native (https://github.com/holepunchto/udx-native) this project uses.
declare module 'udx-native' {
  import { EventEmitter } from 'node:events'
  import { Duplex } from 'node:stream'

  export interface UdxAddress {
    host: string
    family: number
    port: number
  }

  export class UDXSocket extends EventEmitter {
    readonly udx: UDX
    readonly bound: boolean
    readonly closing: boolean
    readonly idle: boolean
    readonly streams: Set<UDXStream>
    address(): UdxAddress
    bind(port?: number, host?: string): void
    close(): Promise<void>
    send(buffer: Uint8Array, port: number, host?: string, ttl?: number): Promise<boolean>
    trySend(buffer: Uint8Array, port: number, host?: string, ttl?: number): void
    setRecvBufferSize(size: number): number
    setSendBufferSize(size: number): number
    getRecvBufferSize(): number
    getSendBufferSize(): number
    on(event: 'message', listener: (message: Buffer, from: UdxAddress) => void): this
    on(event: 'close' | 'listening' | 'idle' | 'busy', listener: () => void): this
    on(event: 'error', listener: (err: Error) => void): this
  }

  export interface UDXStreamOptions {
    firewall?: (socket: UDXSocket, port: number, host: string) => boolean
    framed?: boolean
    seq?: number
  }

  /** A streamx Duplex (not a node:stream Duplex: write() takes no callback). */
  export class UDXStream extends EventEmitter {
    readonly id: number
    readonly remoteId: number
    readonly remoteHost: string | null
    readonly remotePort: number
    readonly connected: boolean
    readonly destroyed: boolean
    readonly destroying: boolean
    readonly rtt: number
    readonly bytesTransmitted: number
    readonly bytesReceived: number
    readonly packetsTransmitted: number
    readonly packetsReceived: number
    readonly retransmits: number
    socket: UDXSocket | null
    userData: unknown
    connect(socket: UDXSocket, remoteId: number, port: number, host?: string): void
    changeRemote(socket: UDXSocket, remoteId: number, port: number, host?: string): Promise<void>
    relayTo(destination: UDXStream): void
    setKeepalive(timeoutMs: number): void
    write(data: Uint8Array): boolean
    end(data?: Uint8Array): void
    pause(): this
    resume(): this
    destroy(err?: Error | null): void
    send(buffer: Uint8Array): Promise<boolean>
    trySend(buffer: Uint8Array): void
  }

  export default class UDX {
    constructor()
    createSocket(options?: { ipv6Only?: boolean; reuseAddress?: boolean }): UDXSocket
    createStream(id: number, options?: UDXStreamOptions): UDXStream
    static isIPv4(host: string): boolean
    static isIPv6(host: string): boolean
    static isIP(host: string): number
  }
  export { Duplex }
}
