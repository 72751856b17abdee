// Types for the parts of @hyperswarm/secret-stream (https://github.com/holepunchto/hyperswarm-secret-stream)
// the bench uses: the Hyperswarm stack's encrypted stream, measured beside the overlay.
declare module '@hyperswarm/secret-stream' {
  import { Duplex } from 'node:stream'

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  export default class SecretStream extends Duplex {
    constructor(isInitiator: boolean, rawStream: unknown, options?: { keyPair?: KeyPair; pattern?: string })
    static keyPair(seed?: Buffer): KeyPair
    /** Resolves true once both sides' stream ids are in (the handshake is over), false if the stream closed first. */
    readonly opened: Promise<boolean>
    readonly remotePublicKey: Buffer | null
  }
}
