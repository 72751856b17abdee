/**
 * Refusals at session setup: every peer that must not get a session is refused
 * with its own code, judged by the honest side, and the honest node keeps
 * serving honest peers afterwards (an honest probe connects and exchanges a
 * message). The attacker is a rogue built from the real lower layers
 * (test/helpers/rogue.ts) or, where it is a legitimate node that lost its
 * standing (revocation), a real OverlayNode.
 */
import assert from 'node:assert/strict'
import { before, describe, it, type TestContext } from 'node:test'
import { OverlayError, type ErrorCode } from '../../src/errors.js'
import { MessageType, type Message } from '../../src/messaging/messages.js'
import type { OverlayNode, OverlaySession } from '../../src/node/node.js'
import { SessionFrame } from '../../src/session/session-frames.js'
import { mapTlsError } from '../../src/session/tls-errors.js'
import { isChat, startNode } from '../helpers/nodes.js'
import { testCa, testCredentials, type TestCredentials } from '../helpers/pki.js'
import {
  alertCheck,
  assertLocalCode,
  assertRemoteCode,
  assertServes,
  assertToldByClose,
  bareStream,
  closeCheck,
  nextHandshakeFailure,
  openRogueTls,
  RogueEndpoint,
  rejection,
  rogueDial,
  rogueTlsFailure,
  SeededRandom,
  type RogueTlsInit,
} from '../helpers/rogue.js'
import { nextEvent, until } from '../helpers/wait.js'

const DAY_MS = 24 * 60 * 60 * 1000

/** Deterministic "random" bytes: the same input on every run. */
function seededBytes(seed: number, length: number): Buffer {
  return new SeededRandom(seed).bytes(length)
}

/** After a refusal the honest node holds nothing for the rogue: no session, no half-open entry, no stream. */
async function assertNothingHeld(node: OverlayNode): Promise<void> {
  await until(() => node.counts.sessions === 0 && node.counts.halfOpen === 0 && node.counts.streams === 0, 5_000, 'the refused connection to be released')
}

describe('refusals at session setup', () => {
  let honest: TestCredentials
  let probe: TestCredentials
  let member: TestCredentials
  let fromOtherCa: TestCredentials
  let expired: TestCredentials
  let notYetValid: TestCredentials

  before(async () => {
    const [ca, otherCa] = await Promise.all([testCa('network CA'), testCa('another CA')])
    const now = Date.now()
    honest = testCredentials(ca, 'honest')
    probe = testCredentials(ca, 'probe')
    member = testCredentials(ca, 'member')
    // Signed by another CA but trusting ours: only the honest side's own check can refuse it.
    fromOtherCa = testCredentials(otherCa, 'stranger', { trust: ca })
    expired = testCredentials(ca, 'expired', { notBefore: new Date(now - 10 * DAY_MS), notAfter: new Date(now - DAY_MS) })
    notYetValid = testCredentials(ca, 'early', { notBefore: new Date(now + DAY_MS), notAfter: new Date(now + 10 * DAY_MS) })
  })

  /**
   * The rogue dials and completes its side of TLS 1.3 (a TLS client is done
   * before the server has judged its certificate); the honest node refuses it
   * with `code` before signing anything, and tells it why.
   */
  async function refusedWhenRogueDials(t: TestContext, init: RogueTlsInit, code: ErrorCode): Promise<void> {
    const node = await startNode(t, honest)
    const rogue = RogueEndpoint.start(t)
    const failed = nextHandshakeFailure(node)
    const channel = await rogueDial(rogue, node.address, init)
    assertLocalCode(await failed, code)
    await channel.waitClosed()
    assert.ok(!channel.frames.some((f) => f.type === SessionFrame.Auth), 'the honest node signs no binding proof for a refused peer')
    await assertToldByClose(t, channel, code)
    await assertNothingHeld(node)
    await assertServes(t, node, probe)
  }

  /** The honest node dials the rogue, whose certificate its TLS client refuses with `code`. */
  async function refusedWhenHonestDials(t: TestContext, init: RogueTlsInit, code: ErrorCode): Promise<void> {
    const node = await startNode(t, honest)
    const rogue = RogueEndpoint.start(t)
    const failed = nextHandshakeFailure(node)
    const connecting = rejection(node.connect(rogue.address))
    // node:tls judges a server certificate after its side of the handshake and
    // destroys the socket without an alert: the rogue only sees its connection end.
    const rogueSide = openRogueTls(await rogue.accept(), 'server', init).then((channel) => channel.waitClosed(), () => undefined)
    assertLocalCode(await connecting, code)
    assertLocalCode(await failed, code)
    await rogueSide
    await assertNothingHeld(node)
    await assertServes(t, node, probe)
  }

  describe('a certificate from another CA: OVL_CERT_UNTRUSTED', () => {
    it('is refused when the rogue dials the honest node', async (t) => {
      await refusedWhenRogueDials(t, { credentials: fromOtherCa.credentials }, 'OVL_CERT_UNTRUSTED')
    })

    it('is refused when the honest node dials the rogue', async (t) => {
      await refusedWhenHonestDials(t, { credentials: fromOtherCa.credentials }, 'OVL_CERT_UNTRUSTED')
    })
  })

  describe('certificates outside their validity', () => {
    it('refuses an expired certificate from a dialer: OVL_CERT_EXPIRED', async (t) => {
      await refusedWhenRogueDials(t, { credentials: expired.credentials }, 'OVL_CERT_EXPIRED')
    })

    it('refuses an expired certificate from the node it dials: OVL_CERT_EXPIRED', async (t) => {
      await refusedWhenHonestDials(t, { credentials: expired.credentials }, 'OVL_CERT_EXPIRED')
    })

    it('refuses a not-yet-valid certificate from a dialer: OVL_CERT_NOT_YET_VALID', async (t) => {
      await refusedWhenRogueDials(t, { credentials: notYetValid.credentials }, 'OVL_CERT_NOT_YET_VALID')
    })

    it('refuses a not-yet-valid certificate from the node it dials: OVL_CERT_NOT_YET_VALID', async (t) => {
      await refusedWhenHonestDials(t, { credentials: notYetValid.credentials }, 'OVL_CERT_NOT_YET_VALID')
    })
  })

  describe('TLS itself', () => {
    it('refuses a dialer that offers only TLS 1.2: OVL_TLS_VERSION', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const rogueSide = await rogueTlsFailure(rogueDial(rogue, node.address, { credentials: member.credentials, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }))
      assertLocalCode(await failed, 'OVL_TLS_VERSION')
      await alertCheck(t, 'the dialer is told OVL_TLS_VERSION by a protocol_version alert', () => assertRemoteCode(rogueSide, 'OVL_TLS_VERSION'))
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('gets no session from a listener that offers only TLS 1.2, and reports OVL_TLS_VERSION', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const connecting = rejection(node.connect(rogue.address))
      // The 1.2-only listener refuses the 1.3-only ClientHello itself and answers with an alert.
      const rogueSide = rogueTlsFailure(openRogueTls(await rogue.accept(), 'server', { credentials: member.credentials, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }))
      assertLocalCode(await rogueSide, 'OVL_TLS_VERSION')
      const error = await connecting
      assert.equal(node.counts.sessions, 0)
      await alertCheck(t, 'the honest dialer reports OVL_TLS_VERSION from the alert', () => assertRemoteCode(error, 'OVL_TLS_VERSION'))
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses a dialer that presents no certificate: OVL_CERT_MISSING', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      // A TLS 1.3 client is done before the server has judged it: the rogue's side completes.
      const channel = await rogueDial(rogue, node.address, { credentials: { ca: member.credentials.ca } })
      assertLocalCode(await failed, 'OVL_CERT_MISSING')
      await channel.waitClosed()
      assert.equal(channel.frames.length, 0, 'not a single frame reaches a peer without a certificate')
      await alertCheck(t, 'the rogue is told OVL_CERT_MISSING by a certificate_required alert', () => assertRemoteCode(mapTlsError(channel.error), 'OVL_CERT_MISSING'))
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses a dialer that speaks another ALPN protocol, or none: OVL_TLS_HANDSHAKE_FAILED', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      await rogueTlsFailure(rogueDial(rogue, node.address, { credentials: member.credentials, alpn: ['http/1.1'] }))
      assertLocalCode(await failed, 'OVL_TLS_HANDSHAKE_FAILED')

      // Without an ALPN extension the handshake completes; the honest node refuses the result.
      const failedAgain = nextHandshakeFailure(node)
      const channel = await rogueDial(rogue, node.address, { credentials: member.credentials, alpn: [] })
      assert.equal(channel.alpnProtocol, false)
      assertLocalCode(await failedAgain, 'OVL_TLS_HANDSHAKE_FAILED')
      await channel.waitClosed()
      assert.equal(channel.frames.length, 0, 'no frame reaches a peer that does not speak the protocol')
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('fails the handshake on random bytes from a dialer instead of TLS: OVL_TLS_HANDSHAKE_FAILED', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const failed = nextHandshakeFailure(node)
      const stream = bareStream(await rogue.dial(node.address))
      stream.write(seededBytes(1, 600))
      assertLocalCode(await failed, 'OVL_TLS_HANDSHAKE_FAILED')
      await nextEvent(stream, 'close', () => true, 5_000)
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('fails the handshake on random bytes in answer to its ClientHello: OVL_TLS_HANDSHAKE_FAILED', async (t) => {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const connecting = rejection(node.connect(rogue.address))
      const stream = bareStream(await rogue.accept())
      stream.once('data', () => stream.write(seededBytes(2, 600)))
      assertLocalCode(await connecting, 'OVL_TLS_HANDSHAKE_FAILED')
      await nextEvent(stream, 'close', () => true, 5_000)
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })
  })

  describe('revocation by node id: OVL_PEER_REVOKED', () => {
    it('refuses a revoked node that dials, and tells it why', async (t) => {
      const node = await startNode(t, { ...honest, revoked: [member.identity.nodeId] })
      const revoked = await startNode(t, member)
      const failed = nextHandshakeFailure(node)
      const refused = await rejection(revoked.connect(node.address))
      assertLocalCode(await failed, 'OVL_PEER_REVOKED')
      await closeCheck(t, 'the revoked dialer is told OVL_PEER_REVOKED', () => assertRemoteCode(refused, 'OVL_PEER_REVOKED'))
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it('refuses to open a session to a revoked node it dials', async (t) => {
      const node = await startNode(t, { ...honest, revoked: [member.identity.nodeId] })
      const revoked = await startNode(t, member)
      const failedThere = nextHandshakeFailure(revoked)
      assertLocalCode(await rejection(node.connect(revoked.address)), 'OVL_PEER_REVOKED')
      const told = await failedThere
      await closeCheck(t, 'the revoked listener is told OVL_PEER_REVOKED', () => assertRemoteCode(told, 'OVL_PEER_REVOKED'))
      await assertNothingHeld(node)
      await assertServes(t, node, probe)
    })

    it(
      'refuses a peer revoked while its handshake is in flight',
      async (t) => {
        const node = await startNode(t, honest)
        const rogue = RogueEndpoint.start(t)
        // TLS is done and the certificate passed; the peer holds back its binding proof.
        const channel = await rogueDial(rogue, node.address, { credentials: member.credentials })
        await channel.peerProof()
        node.revocation.replace([member.identity.nodeId])
        const outcome: { first: OverlaySession | OverlayError | null } = { first: null }
        node.once('session:up', (session) => (outcome.first ??= session))
        node.once('handshake:failed', ({ error }) => (outcome.first ??= error))
        channel.sendAuth(channel.proof(member.identity))
        channel.sendFrame(SessionFrame.AuthOk)
        await until(() => outcome.first !== null, 5_000, 'the handshake to end one way or the other')
        assert.ok(outcome.first instanceof OverlayError, 'the revoked peer came up')
        assertLocalCode(outcome.first, 'OVL_PEER_REVOKED')
        assert.equal(node.session(member.identity.nodeId), undefined)
      },
    )

    it('disconnects a live session when its peer is revoked at run time, and refuses it from then on', async (t) => {
      const node = await startNode(t, honest)
      const peer = await startNode(t, member)
      const session = await peer.connect(node.address)
      await until(() => node.counts.sessions === 1, 5_000, 'the session to be up at the honest node')
      const got = nextEvent<[Message]>(node, 'message', isChat)
      session.send({ type: MessageType.Chat, id: 0, text: 'before' })
      assert.deepEqual((await got)[0], { type: MessageType.Chat, id: 0, text: 'before' })

      const downHere = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down')
      const downThere = nextEvent<[OverlaySession, OverlayError | null]>(peer, 'session:down')
      node.revocation.replace([member.identity.nodeId])
      const [closed, error] = await downHere
      assert.equal(closed.peerId, member.identity.nodeId)
      assertLocalCode(error, 'OVL_PEER_REVOKED')
      const [, errorThere] = await downThere
      await closeCheck(t, 'the revoked peer is told OVL_PEER_REVOKED', () => assertRemoteCode(errorThere, 'OVL_PEER_REVOKED'))
      assert.equal(node.session(member.identity.nodeId), undefined)
      await assertNothingHeld(node)

      // A bad list is refused whole: the revocation stays in force.
      assert.throws(() => node.revocation.replace([member.identity.nodeId, 'not-a-node-id']), { code: 'OVL_CONFIG_INVALID' })
      assert.ok(node.revocation.has(member.identity.nodeId))

      const failed = nextHandshakeFailure(node)
      await rejection(peer.connect(node.address))
      assertLocalCode(await failed, 'OVL_PEER_REVOKED')
      await assertServes(t, node, probe)

      // Lifting the revocation lets the node back in, without a restart.
      node.revocation.replace([])
      const again = await peer.connect(node.address)
      assert.equal(again.peerId, node.nodeId)
    })
  })
})
