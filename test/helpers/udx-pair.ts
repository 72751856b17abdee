/**
 * Two UdxPorts on two real UDP sockets on loopback, connected to each other:
 * directly, or through a relay the test can cut (`state.cut = true` drops
 * everything from then on, as a peer that vanishes). Closed after the test.
 */
import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import type { UDXStream } from 'udx-native'
import { UdxPort } from '../../src/transport/udx-port.js'
import { UdpSocket } from '../../src/transport/udp-socket.js'

export interface PortPair {
  a: UdpSocket
  b: UdpSocket
  sa: UDXStream
  sb: UDXStream
  da: UdxPort
  db: UdxPort
  /** With a relay: set `cut` to drop every packet from then on. */
  state: { cut: boolean }
}

export async function portPair(t: TestContext, options: { relay?: boolean } = {}): Promise<PortPair> {
  const a = new UdpSocket()
  const b = new UdpSocket()
  const { port: portA } = a.bind(0, '127.0.0.1')
  const { port: portB } = b.bind(0, '127.0.0.1')
  const state = { cut: false }
  let relay: dgram.Socket | null = null
  if (options.relay) {
    const r = dgram.createSocket('udp4')
    relay = r
    await new Promise<void>((resolve) => r.bind(0, '127.0.0.1', resolve))
    r.on('message', (m, from) => {
      if (!state.cut) r.send(m, from.port === portA ? portB : portA, '127.0.0.1')
    })
  }
  const relayPort = relay ? (relay.address() as AddressInfo).port : 0
  const sa = a.createStream()
  const sb = b.createStream()
  sa.connect(a.raw, sb.id, relay ? relayPort : portB, '127.0.0.1')
  sb.connect(b.raw, sa.id, relay ? relayPort : portA, '127.0.0.1')
  const da = new UdxPort(sa)
  const db = new UdxPort(sb)
  t.after(async () => {
    if (!da.destroyed) da.destroy()
    if (!db.destroyed) db.destroy()
    await Promise.all([a.close(), b.close()])
    relay?.close()
  })
  return { a, b, sa, sb, da, db, state }
}
