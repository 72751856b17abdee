/**
 * The Ed25519 channel binding: each side signs the TLS exporter value of this
 * session with the key its certificate names. Unit tests of the primitives,
 * then attacks by a rogue that holds a valid certificate but not the matching
 * key, or replays a proof from another session.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { BINDING_LABEL } from '../../src/constants.js'
import { Identity } from '../../src/identity/identity.js'
import { OverlayNode } from '../../src/node/node.js'
import { bindingMessage, decodeBindingProof, encodeBindingProof, signBinding, verifyBinding, type BindingProof } from '../../src/session/binding.js'
import type { NetworkCa } from '../../src/session/pki/ca.js'
import { SessionFrame } from '../../src/session/session-frames.js'
import { startNode } from '../helpers/nodes.js'
import { testCa, testCredentials, type TestCredentials } from '../helpers/pki.js'
import { assertLocalCode, assertServes, assertToldByClose, nextHandshakeFailure, openRogueTls, rejection, RogueEndpoint, rogueDial, type RogueChannel } from '../helpers/rogue.js'
import { until } from '../helpers/wait.js'

function exporter(fill: number): Buffer {
  return Buffer.alloc(32, fill)
}

describe('binding primitives', () => {
  const alice = Identity.generate()
  const mallory = Identity.generate()

  it('signs the label, a zero byte, the role and the exporter value', () => {
    const message = bindingMessage('client', exporter(7))
    assert.deepEqual(message, Buffer.concat([Buffer.from(BINDING_LABEL), Buffer.from([0x00, 0x63]), exporter(7)]))
    assert.equal(bindingMessage('server', exporter(7))[BINDING_LABEL.length + 1], 0x73)
  })

  it('verifies a proof for the same session, role and key', () => {
    const proof = signBinding(alice, 'client', exporter(1))
    assert.doesNotThrow(() => verifyBinding(proof, alice.nodeId, 'client', exporter(1)))
  })

  it('refuses a proof from another session: OVL_BINDING_INVALID', () => {
    const proof = signBinding(alice, 'client', exporter(1))
    assert.throws(() => verifyBinding(proof, alice.nodeId, 'client', exporter(2)), { code: 'OVL_BINDING_INVALID' })
  })

  it('refuses a proof reflected into the other role: OVL_BINDING_INVALID', () => {
    const proof = signBinding(alice, 'server', exporter(1))
    assert.throws(() => verifyBinding(proof, alice.nodeId, 'client', exporter(1)), { code: 'OVL_BINDING_INVALID' })
  })

  it('refuses a proof signed by another key than the certificate names: OVL_BINDING_KEY_MISMATCH', () => {
    const proof = signBinding(mallory, 'client', exporter(1))
    assert.throws(() => verifyBinding(proof, alice.nodeId, 'client', exporter(1)), { code: 'OVL_BINDING_KEY_MISMATCH' })
  })

  it("refuses a proof that claims the named key but carries another key's signature: OVL_BINDING_INVALID", () => {
    const forged: BindingProof = { publicKey: alice.publicKey, signature: signBinding(mallory, 'client', exporter(1)).signature }
    assert.throws(() => verifyBinding(forged, alice.nodeId, 'client', exporter(1)), { code: 'OVL_BINDING_INVALID' })
  })

  it('refuses a proof with any single bit of its signature flipped', () => {
    const proof = signBinding(alice, 'server', exporter(3))
    for (let bit = 0; bit < 64 * 8; bit += 7) {
      const signature = Buffer.from(proof.signature)
      signature[bit >> 3] = (signature[bit >> 3] as number) ^ (1 << (bit & 7))
      assert.throws(() => verifyBinding({ publicKey: proof.publicKey, signature }, alice.nodeId, 'server', exporter(3)), { code: 'OVL_BINDING_INVALID' })
    }
  })

  it('encodes a proof as key then signature (96 bytes) and decodes it back', () => {
    const proof = signBinding(alice, 'client', exporter(4))
    const bytes = encodeBindingProof(proof)
    assert.equal(bytes.length, 96)
    assert.deepEqual(bytes.subarray(0, 32), Buffer.from(alice.publicKey))
    const back = decodeBindingProof(bytes)
    assert.deepEqual(Buffer.from(back.publicKey), Buffer.from(proof.publicKey))
    assert.deepEqual(Buffer.from(back.signature), Buffer.from(proof.signature))
  })

  it('refuses a proof of any other length: OVL_FRAME_MALFORMED', () => {
    for (const length of [0, 1, 32, 95, 97, 200]) {
      assert.throws(() => decodeBindingProof(Buffer.alloc(length)), { code: 'OVL_FRAME_MALFORMED' }, `${length} bytes`)
    }
  })
})

describe('the binding on real sessions', () => {
  let ca: NetworkCa
  let honest: TestCredentials
  let bravo: TestCredentials
  let probe: TestCredentials
  let member: TestCredentials
  /** A valid certificate that names `honest`'s node id, with a TLS key of its own: the rogue has no Ed25519 key for it. */
  let namingHonest: TestCredentials
  /** A valid certificate naming one node id, and an identity for another. */
  let mismatched: TestCredentials

  before(async () => {
    ca = await testCa('binding CA')
    honest = testCredentials(ca, 'honest')
    bravo = testCredentials(ca, 'bravo')
    probe = testCredentials(ca, 'probe')
    member = testCredentials(ca, 'member')
    namingHonest = testCredentials(ca, 'impostor', { identity: honest.identity })
    mismatched = testCredentials(ca, 'mismatched', { nodeId: Identity.generate().nodeId })
  })

  async function assertNothingHeld(node: OverlayNode): Promise<void> {
    await until(() => node.counts.sessions === 0 && node.counts.halfOpen === 0 && node.counts.streams === 0, 5_000, 'the refused connection to be released')
  }

  it('both ends of a TLS session derive the same exporter value, and another session another one', async (t) => {
    const a = RogueEndpoint.start(t)
    const b = RogueEndpoint.start(t)
    const values: Buffer[] = []
    for (let i = 0; i < 2; i++) {
      const accepted = b.accept()
      const client = rogueDial(a, b.address, { credentials: member.credentials })
      const server = openRogueTls(await accepted, 'server', { credentials: member.credentials })
      const [c, s] = await Promise.all([client, server])
      assert.deepEqual(c.exporter(), s.exporter())
      assert.equal(c.exporter().length, 32)
      values.push(c.exporter())
      c.destroy()
      s.destroy()
    }
    assert.notDeepEqual(values[0], values[1])
  })

  describe('a certificate whose node id is not the key that signs the binding', () => {
    it('cannot even start an OverlayNode: OVL_CERT_IDENTITY_MISMATCH', () => {
      assert.throws(() => new OverlayNode({ identity: mismatched.identity, credentials: mismatched.credentials }), { code: 'OVL_CERT_IDENTITY_MISMATCH' })
    })

    it('is refused when the rogue dials: OVL_BINDING_KEY_MISMATCH', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const channel = await rogueDial(rogue, node.address, { credentials: mismatched.credentials })
      channel.sendAuth(channel.proof(mismatched.identity))
      assertLocalCode(await failed, 'OVL_BINDING_KEY_MISMATCH')
      await channel.waitClosed()
      assert.ok(!channel.frames.some((f) => f.type === SessionFrame.AuthOk), 'the rogue never gets an AUTH_OK')
      await assertToldByClose(t, channel, 'OVL_BINDING_KEY_MISMATCH')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('is refused when the honest node dials the rogue: OVL_BINDING_KEY_MISMATCH', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const connecting = rejection(node.connect(rogue.address))
      const channel = await openRogueTls(await rogue.accept(), 'server', { credentials: mismatched.credentials })
      await channel.peerProof()
      channel.sendAuth(channel.proof(mismatched.identity))
      assertLocalCode(await connecting, 'OVL_BINDING_KEY_MISMATCH')
      await assertToldByClose(t, channel, 'OVL_BINDING_KEY_MISMATCH')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('is refused when the proof claims the named key with a signature by another: OVL_BINDING_INVALID', async (t) => {
      const node = await startNode(t, bravo)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const channel = await rogueDial(rogue, node.address, { credentials: namingHonest.credentials })
      const forged = channel.proof(anyOtherKey())
      channel.sendAuth({ publicKey: honest.identity.publicKey, signature: forged.signature })
      assertLocalCode(await failed, 'OVL_BINDING_INVALID')
      await assertToldByClose(t, channel, 'OVL_BINDING_INVALID')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })
  })

  describe('a binding proof replayed from another session: OVL_BINDING_INVALID', () => {
    it("refuses the rogue's own proof from an earlier session", async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      // Session 1: an honest session, up on both ends; the rogue keeps its proof.
      const first = await rogueDial(rogue, node.address, { credentials: member.credentials })
      const firstExporter = first.exporter()
      const captured = first.proof(member.identity)
      first.sendAuth(captured)
      await first.frame(SessionFrame.AuthOk)
      await first.peerProof()
      first.sendFrame(SessionFrame.AuthOk)
      await until(() => node.counts.sessions === 1, 5_000, 'session 1 to be up')
      first.end()
      await first.waitClosed()
      await until(() => node.counts.sessions === 0, 5_000, 'session 1 to be gone')

      // Session 2: the same key and certificate, the old proof.
      const failed = nextHandshakeFailure(node)
      const second = await rogueDial(rogue, node.address, { credentials: member.credentials })
      assert.notDeepEqual(second.exporter(), firstExporter)
      second.sendAuth(captured)
      assertLocalCode(await failed, 'OVL_BINDING_INVALID')
      await assertToldByClose(t, second, 'OVL_BINDING_INVALID')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses a proof captured from the honest node it names, even with a valid certificate for that node', async (t) => {
      // The honest node dials the rogue and, as the protocol says, sends its proof.
      const victim = await startNode(t, honest)
      const target = await startNode(t, bravo)
      const rogue = RogueEndpoint.start(t)
      const dialing = rejection(victim.connect(rogue.address))
      const trap = await openRogueTls(await rogue.accept(), 'server', { credentials: member.credentials })
      const captured = await trap.peerProof()
      assert.deepEqual(Buffer.from(captured.publicKey), Buffer.from(honest.identity.publicKey))
      trap.destroy()
      await dialing

      // The rogue presents a certificate naming the victim to another node and replays its proof.
      const failed = nextHandshakeFailure(target)
      const channel: RogueChannel = await rogueDial(rogue, target.address, { credentials: namingHonest.credentials })
      channel.sendAuth(captured)
      assertLocalCode(await failed, 'OVL_BINDING_INVALID')
      await assertToldByClose(t, channel, 'OVL_BINDING_INVALID')
      assert.equal(target.session(honest.identity.nodeId), undefined, 'nobody is up as the victim')
      await assertNothingHeld(target)
      await assertServes(t, target, probe)
    })
  })

  describe('the exchange itself', () => {
    it('never lets up a peer that does not prove its key: OVL_HANDSHAKE_TIMEOUT after limits.handshakeTimeoutMs', async (t) => {
      const handshakeTimeoutMs = 300
      const node = await startNode(t, { ...honest, limits: { handshakeTimeoutMs } })
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const started = Date.now()
      const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
      await channel.peerProof()
      channel.sendFrame(SessionFrame.AuthOk) // acknowledges the honest proof, offers none
      assertLocalCode(await failed, 'OVL_HANDSHAKE_TIMEOUT')
      assert.ok(Date.now() - started >= handshakeTimeoutMs - 20, 'not before the handshake timeout')
      assert.equal(node.counts.sessions, 0)
      await channel.waitClosed()
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses a malformed AUTH: OVL_FRAME_MALFORMED', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
      channel.sendFrame(SessionFrame.Auth, encodeBindingProof(channel.proof(member.identity)).subarray(0, 95))
      assertLocalCode(await failed, 'OVL_FRAME_MALFORMED')
      await assertToldByClose(t, channel, 'OVL_FRAME_MALFORMED')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses a second AUTH: OVL_MESSAGE_UNEXPECTED', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const down = nextHandshakeFailure(node)
      const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
      const proof = channel.proof(member.identity)
      channel.sendAuth(proof)
      channel.sendAuth(proof)
      assertLocalCode(await down, 'OVL_MESSAGE_UNEXPECTED')
      await assertToldByClose(t, channel, 'OVL_MESSAGE_UNEXPECTED')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses an AUTH_OK with a body: OVL_MESSAGE_UNEXPECTED', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
      channel.sendFrame(SessionFrame.AuthOk, Buffer.from([1]))
      assertLocalCode(await failed, 'OVL_MESSAGE_UNEXPECTED')
      await assertToldByClose(t, channel, 'OVL_MESSAGE_UNEXPECTED')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })
  })
})

/** A key the rogue holds: any key but the one the certificate names. */
function anyOtherKey(): Identity {
  return Identity.generate()
}

