/**
 * The Ed25519 channel binding. After the TLS handshake each side signs
 *
 *   BINDING_LABEL || 0x00 || role || exporter
 *
 * where role is 'c' (TLS client) or 's' (TLS server) and exporter is the TLS
 * exporter value for RFC 9266 channel binding. The exporter is unique to this
 * TLS session, so a signature captured from one session is worthless in any
 * other; the role stops a peer from reflecting our own signature back to us.
 */
import { BINDING_LABEL, TLS_EXPORTER_BYTES, TLS_EXPORTER_LABEL } from '../constants.js'
import { HandshakeError, ProtocolError } from '../errors.js'
import { verifySignature, type Identity } from '../identity/identity.js'
import { nodeIdFromPublicKey } from '../identity/node-id.js'

export type TlsRole = 'client' | 'server'

export interface BindingProof {
  publicKey: Uint8Array
  signature: Uint8Array
}

const PROOF_BYTES = 32 + 64

/** RFC 9266: 32 bytes, label EXPORTER-Channel-Binding, empty context (in TLS 1.3 the same as none). */
export function exporterValue(socket: { exportKeyingMaterial(length: number, label: string, context: Buffer): Buffer }): Buffer {
  return socket.exportKeyingMaterial(TLS_EXPORTER_BYTES, TLS_EXPORTER_LABEL, Buffer.alloc(0))
}

export function bindingMessage(role: TlsRole, exporter: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(BINDING_LABEL), Buffer.from([0, role === 'client' ? 0x63 : 0x73]), exporter])
}

export function signBinding(identity: Identity, role: TlsRole, exporter: Uint8Array): BindingProof {
  return { publicKey: identity.publicKey, signature: identity.sign(bindingMessage(role, exporter)) }
}

/**
 * Checks the peer's proof: the key it signed with must be the key its
 * certificate names, and the signature must cover this session's exporter.
 */
export function verifyBinding(proof: BindingProof, expectedNodeId: string, peerRole: TlsRole, exporter: Uint8Array): void {
  if (nodeIdFromPublicKey(proof.publicKey) !== expectedNodeId) {
    throw new HandshakeError('OVL_BINDING_KEY_MISMATCH', 'the binding was signed by another Ed25519 key than the one in the peer certificate')
  }
  if (!verifySignature(proof.publicKey, bindingMessage(peerRole, exporter), proof.signature)) {
    throw new HandshakeError('OVL_BINDING_INVALID', 'the binding signature does not verify for this TLS session (forged or replayed)')
  }
}

export function encodeBindingProof(proof: BindingProof): Buffer {
  return Buffer.concat([proof.publicKey, proof.signature])
}

export function decodeBindingProof(body: Buffer): BindingProof {
  if (body.length !== PROOF_BYTES) throw new ProtocolError('OVL_FRAME_MALFORMED', `binding proof is ${body.length} bytes, expected ${PROOF_BYTES}`)
  return { publicKey: Buffer.from(body.subarray(0, 32)), signature: Buffer.from(body.subarray(32)) }
}
