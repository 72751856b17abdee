/**
 * The hard side of a birthday punch (as HyperDHT does it): behind a NAT that
 * maps every destination to a fresh random port, one socket gives the other
 * side one port to guess among 64,512. A pool of N sockets, each probing the
 * other side, gives it N; the other side sprays probes at random ports and
 * one lands on a mapping with probability 1 - (1 - N/64512)^probes.
 *
 * The pool shares one UDX instance. The socket a path is found on carries the
 * session afterwards; the rest are closed as soon as the punch ends.
 */
import UDX from 'udx-native'
import { UdpSocket } from '../transport/udp-socket.js'

export class BirthdayPool {
  readonly sockets: UdpSocket[]

  private constructor(sockets: UdpSocket[]) {
    this.sockets = sockets
  }

  static open(size: number, host: string): BirthdayPool {
    const udx = new UDX()
    const sockets: UdpSocket[] = []
    try {
      for (let i = 0; i < size; i++) {
        const socket = new UdpSocket({ udx })
        socket.bind(0, host)
        sockets.push(socket)
      }
    } catch (err) {
      for (const socket of sockets) void socket.close()
      throw err
    }
    return new BirthdayPool(sockets)
  }

  /** Closes every socket but `keep`. */
  async close(keep: UdpSocket | null = null): Promise<void> {
    await Promise.all(this.sockets.filter((s) => s !== keep).map((s) => s.close()))
  }
}
