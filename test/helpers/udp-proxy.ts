/**
 * An in-process UDP proxy on loopback with a seeded random source: drops a
 * given share of datagrams each way, or all of them (a cut cable, a node
 * frozen or killed). `tc netem` does not work on these machines; this does
 * the same for one path. Dialers connect to `address`; the proxy talks to the
 * target from one upstream socket per client.
 */
import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import type { RemoteAddress } from '../../src/transport/connection.js'
import { SeededRandom } from './rogue.js'

export class UdpProxy {
  readonly #listen = dgram.createSocket('udp4')
  readonly #upstreams = new Map<string, dgram.Socket>()
  readonly #target: RemoteAddress
  readonly #random: SeededRandom
  #lossPercent = 0
  #cut = false
  forwarded = 0
  dropped = 0

  private constructor(target: RemoteAddress, seed: number) {
    this.#target = target
    this.#random = new SeededRandom(seed)
    this.#listen.on('message', (data, from) => this.#fromClient(data, from))
  }

  static async start(t: TestContext, target: RemoteAddress, options: { seed?: number; lossPercent?: number } = {}): Promise<UdpProxy> {
    const proxy = new UdpProxy(target, options.seed ?? 1)
    proxy.#lossPercent = options.lossPercent ?? 0
    await new Promise<void>((resolve) => proxy.#listen.bind(0, '127.0.0.1', resolve))
    t.after(() => proxy.close())
    return proxy
  }

  get address(): RemoteAddress {
    const { port } = this.#listen.address() as AddressInfo
    return { host: '127.0.0.1', port }
  }

  /** Drops `percent` % of datagrams in each direction, at random (seeded). */
  setLoss(percent: number): void {
    this.#lossPercent = percent
  }

  /** Drops everything from now on, both ways. */
  cut(): void {
    this.#cut = true
  }

  /**
   * A NAT that forgot its mappings (a reboot, a timeout): the client's next
   * datagram goes on from a new upstream port; replies to the old one are lost.
   */
  rebind(): void {
    for (const socket of this.#upstreams.values()) socket.close()
    this.#upstreams.clear()
  }

  /** The upstream ports in use, one per client: the addresses the target sees. */
  get upstreamPorts(): number[] {
    return [...this.#upstreams.values()].map((socket) => (socket.address() as AddressInfo).port)
  }

  close(): void {
    for (const socket of [this.#listen, ...this.#upstreams.values()]) {
      try {
        socket.close()
      } catch {
        // already closed
      }
    }
    this.#upstreams.clear()
  }

  #pass(): boolean {
    const pass = !this.#cut && this.#random.int(10_000) >= this.#lossPercent * 100
    if (pass) this.forwarded++
    else this.dropped++
    return pass
  }

  #fromClient(data: Buffer, from: dgram.RemoteInfo): void {
    const key = `${from.address}:${from.port}`
    let upstream = this.#upstreams.get(key)
    if (upstream === undefined) {
      upstream = dgram.createSocket('udp4')
      upstream.bind(0, '127.0.0.1')
      upstream.on('message', (reply) => {
        if (this.#pass()) this.#listen.send(reply, from.port, from.address)
      })
      this.#upstreams.set(key, upstream)
    }
    if (this.#pass()) upstream.send(data, this.#target.port, this.#target.host)
  }
}
