/**
 * Direct messages on sessions, on their own: what a messenger acknowledges,
 * delivers, and sends again as sessions come and go. Sessions here are
 * stand-ins that record what is sent on them (the node-level cases run on
 * real nodes in test/overlay/messaging.test.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CHAT_IDS_PER_PEER } from '../../src/constants.js'
import { ClosedError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import type { NodeId } from '../../src/identity/node-id.js'
import { DirectMessenger, type ChatDelivery, type DirectDropReason } from '../../src/messaging/direct.js'
import { AckStatus, MessageType, type ChatMessage, type Message } from '../../src/messaging/messages.js'
import type { Session } from '../../src/session/session.js'

type OverlaySession = Session<Message>

interface Stub {
  session: OverlaySession
  sent: Message[]
  close(): void
}

/** A session that records what is sent on it, and throws as a real one does once it is not writable. */
function stub(peerId: NodeId): Stub {
  const sent: Message[] = []
  const fields = {
    peerId,
    writable: true,
    send: (message: Message) => {
      if (!fields.writable) throw new ClosedError('OVL_SESSION_CLOSED', 'the session is closing')
      sent.push(message)
      return true
    },
  }
  return { session: fields as unknown as OverlaySession, sent, close: () => void (fields.writable = false) }
}

/** A messenger whose current session per peer is what `current` holds. */
function messenger(current = new Map<NodeId, OverlaySession>()): { direct: DirectMessenger; chats: ChatDelivery[]; dropped: DirectDropReason[] } {
  const direct = new DirectMessenger({
    identity: Identity.generate(),
    sessions: { get: (peer) => current.get(peer), all: () => current.values() },
    deliveriesPerSecond: 1_000,
  })
  const chats: ChatDelivery[] = []
  const dropped: DirectDropReason[] = []
  direct.on('chat', (chat) => chats.push(chat))
  direct.on('dropped', (reason) => dropped.push(reason))
  return { direct, chats, dropped }
}

const A = Identity.generate().nodeId
const B = Identity.generate().nodeId

const chat = (id: number, text = 'hello'): ChatMessage => ({ type: MessageType.Chat, id, text })
const delivered = (id: number): Message => ({ type: MessageType.Ack, id, status: AckStatus.Delivered })

describe('direct messages on sessions', () => {
  it('a CHAT that arrives again (its ACK was lost with its session) is acknowledged, not delivered twice', () => {
    const { direct, chats, dropped } = messenger()
    const first = stub(A)
    const second = stub(A)
    direct.onChat(first.session, chat(7))
    direct.onChat(second.session, chat(7))
    assert.deepEqual(first.sent, [delivered(7)])
    assert.deepEqual(second.sent, [delivered(7)], 'the repeat is acknowledged, so the sender stops waiting')
    assert.deepEqual(chats.map((c) => c.from), [A])
    assert.deepEqual(dropped, ['chat-duplicate'])
    assert.equal(direct.stats.received, 1)
  })

  it('ids are the sender\'s own: the same id from another peer is a new message, and id 0 (no ACK wanted) is never a repeat', () => {
    const { direct, chats } = messenger()
    direct.onChat(stub(A).session, chat(7))
    direct.onChat(stub(B).session, chat(7))
    const silent = stub(A)
    direct.onChat(silent.session, chat(0))
    direct.onChat(silent.session, chat(0))
    assert.deepEqual(chats.map((c) => c.from), [A, B, A, A])
    assert.deepEqual(silent.sent, [])
  })

  it('each peer has its own window of ids: another peer\'s chats do not push them out, its own do', () => {
    const direct = new DirectMessenger({ identity: Identity.generate(), sessions: { get: () => undefined, all: () => [] }, deliveriesPerSecond: 1e9 })
    const chats: string[] = []
    direct.on('chat', (c) => chats.push(`${c.from === A ? 'A' : 'B'}${c.text}`))
    direct.onChat(stub(A).session, chat(42, ':42'))
    const other = stub(B).session
    for (let id = 1; id <= 2 * CHAT_IDS_PER_PEER; id++) direct.onChat(other, chat(id, ''))
    direct.onChat(stub(A).session, chat(42, ':42'))
    assert.deepEqual(chats.filter((c) => c.startsWith('A')), ['A:42'], 'A\'s repeat is still known')
    // A's own later chats are what pushes it out: the window holds the last CHAT_IDS_PER_PEER.
    const a = stub(A).session
    for (let id = 43; id < 43 + CHAT_IDS_PER_PEER; id++) direct.onChat(a, chat(id, ''))
    direct.onChat(stub(A).session, chat(42, ':42'))
    assert.equal(chats.filter((c) => c === 'A:42').length, 2)
  })

  it('a CHAT refused by the rate limit is not remembered as delivered: sent again, it is judged again', () => {
    const direct = new DirectMessenger({ identity: Identity.generate(), sessions: { get: () => undefined, all: () => [] }, deliveriesPerSecond: 1 })
    const chats: string[] = []
    direct.on('chat', (c) => chats.push(c.text))
    const session = stub(A)
    direct.onChat(session.session, chat(1, 'one'))
    direct.onChat(session.session, chat(2, 'two'))
    direct.onChat(session.session, chat(3, 'three'))
    direct.onChat(session.session, chat(3, 'three'))
    // The bucket (1 a second, 2 at once) is still empty: refused again, not acknowledged as a repeat.
    assert.deepEqual(session.sent.map((m) => m.type === MessageType.Ack && m.status), [AckStatus.Delivered, AckStatus.Delivered, AckStatus.Refused, AckStatus.Refused])
    assert.deepEqual(chats, ['one', 'two'])
  })

  it('a CHAT whose session closes before its ACK goes again, with its id, on the peer\'s current session; its ACK there settles it', async () => {
    const old = stub(B)
    const current = new Map([[B, old.session]])
    const { direct } = messenger(current)
    const receipt = direct.send(B, 'hello')
    assert.equal(old.sent.length, 1)
    const sent = old.sent[0] as ChatMessage
    old.close()
    const replacement = stub(B)
    current.set(B, replacement.session)
    direct.sessionClosed(old.session, replacement.session)
    assert.deepEqual(replacement.sent, [sent])
    assert.equal(direct.stats.resent, 1)
    direct.onAck(replacement.session, { type: MessageType.Ack, id: sent.id, status: AckStatus.Delivered })
    assert.equal((await receipt).target, B)
    assert.equal(direct.pendingCount, 0)
  })

  it('with no session to the peer when it closes, the CHAT waits for the peer\'s next session (not another peer\'s)', async () => {
    const old = stub(B)
    const { direct } = messenger(new Map([[B, old.session]]))
    const receipt = direct.send(B, 'hello')
    old.close()
    direct.sessionClosed(old.session, undefined)
    const other = stub(A)
    direct.sessionUp(other.session)
    assert.deepEqual(other.sent, [])
    const next = stub(B)
    direct.sessionUp(next.session)
    assert.deepEqual(next.sent, old.sent)
    direct.onAck(next.session, { type: MessageType.Ack, id: (old.sent[0] as ChatMessage).id, status: AckStatus.Delivered })
    assert.equal((await receipt).via, 'session')
  })

  it('what waits for the peer\'s next session is not sent on one that is already closing', () => {
    const old = stub(B)
    const { direct } = messenger(new Map([[B, old.session]]))
    void direct.send(B, 'hello').catch(() => {})
    old.close()
    direct.sessionClosed(old.session, undefined)
    const closing = stub(B)
    closing.close()
    assert.doesNotThrow(() => direct.sessionUp(closing.session))
    assert.equal(direct.stats.resent, 0)
    const next = stub(B)
    direct.sessionUp(next.session)
    assert.deepEqual(next.sent, old.sent, 'it goes on the next one')
    direct.close()
  })

  it('a CHAT whose session is still open is not sent again when another session to the peer comes up, or when an unrelated session closes', () => {
    const open = stub(B)
    const { direct } = messenger(new Map([[B, open.session]]))
    void direct.send(B, 'hello').catch(() => {})
    const other = stub(B)
    direct.sessionUp(other.session)
    direct.sessionClosed(stub(B).session, other.session)
    assert.deepEqual(other.sent, [])
    assert.equal(direct.stats.resent, 0)
    direct.close()
  })

  it('chat ids start anywhere, so a restarted node does not reuse the ids its peers remember', () => {
    const firstId = (): number => {
      const session = stub(B)
      const { direct } = messenger(new Map([[B, session.session]]))
      void direct.send(B, 'hello').catch(() => {})
      direct.close()
      return (session.sent[0] as ChatMessage).id
    }
    const ids = [firstId(), firstId(), firstId()]
    assert.equal(new Set(ids).size, 3, `three messengers started at ${ids.join(', ')}`)
    for (const id of ids) assert.ok(id >= 1 && id <= 0xffff_ffff)
  })
})
