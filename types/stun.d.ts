// Types for the parts of the `stun` package (https://github.com/nodertc/stun, v2.1.0) this
// project uses: its message codec only. Its sockets and servers are not used (the node has
// one UDP socket, see src/nat/stun/endpoint.ts).
declare module 'stun' {
  export interface StunAddressValue {
    address: string
    port: number
    family: 'IPv4' | 'IPv6'
  }

  export interface StunAttribute {
    readonly type: number
    readonly value: unknown
  }

  export class StunMessage implements Iterable<StunAttribute> {
    readonly type: number
    readonly transactionId: Buffer
    readonly count: number
    /** True for an RFC 3489 message (no magic cookie). */
    isLegacy(): boolean
    getAttribute(type: number): StunAttribute | undefined
    hasAttribute(type: number): boolean
    [Symbol.iterator](): Iterator<StunAttribute>
  }

  /** A decoded message. */
  export class StunResponse extends StunMessage {
    getAddress(): StunAddressValue | undefined
    getXorAddress(): StunAddressValue | undefined
    /** Beware: v2.1.0 decodes the code wrongly (class * (number + 100)); read ERROR-CODE from the bytes. */
    getError(): { code: number; reason: string } | undefined
    getSoftware(): string | undefined
  }

  /** A message being built. */
  export class StunRequest extends StunMessage {
    setType(type: number): void
    setTransactionId(transactionId: Buffer): boolean
    addAttribute(type: number, ...values: unknown[]): StunAttribute | undefined
    addAddress(address: string, port: number): StunAttribute | undefined
    addXorAddress(address: string, port: number): StunAttribute | undefined
    addError(code: number, reason?: string): StunAttribute | undefined
    addSoftware(software: string): StunAttribute | undefined
    addFingerprint(): boolean
    toBuffer(): Buffer
  }

  export function createMessage(type: number, transaction?: Buffer): StunRequest
  export function createTransaction(): Buffer
  export function encode(message: StunMessage): Buffer
  /** Throws on bytes that do not parse. */
  export function decode(message: Buffer): StunResponse
  export function validateFingerprint(message: StunMessage): boolean

  export interface StunRequestOptions {
    /** Initial RTO in ms. */
    timeout?: number
    retries?: number
    maxTimeout?: number
  }
  /** The package's own client: a Binding request from a socket of its own (tests use it as an independent client). */
  export function request(url: string, options?: StunRequestOptions): Promise<StunResponse>

  export const constants: Record<string, number>

  const stun: {
    createMessage: typeof createMessage
    createTransaction: typeof createTransaction
    encode: typeof encode
    decode: typeof decode
    validateFingerprint: typeof validateFingerprint
    request: typeof request
    constants: typeof constants
  }
  export default stun
}
