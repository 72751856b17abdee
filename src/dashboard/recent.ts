/**
 * What the page shows besides the live peer list: recent messages (in and
 * out), and peers whose session went down, kept on the map until they are
 * back. Both bounded.
 */
import { LRUCache } from 'lru-cache'
import type { NodeId } from '../identity/node-id.js'
import type { ChatEvent } from '../node/node.js'
import { Ring } from './ring.js'

export interface MessageView {
  /** ms since the epoch. */
  at: number
  direction: 'in' | 'out'
  /** The sender (this node for 'out'). */
  from: NodeId
  fromName: string | null
  /** The target of a direct message; null for a broadcast. */
  to: NodeId | null
  toName: string | null
  text: string
  broadcast: boolean
  /** 'session' (one hop) or 'routed'; for a message sent, how it was delivered. */
  via: string | null
  hops: number | null
  /** For a message sent: delivered, sent (a broadcast) or failed with a code. */
  status: 'received' | 'delivered' | 'sent' | 'failed'
  error: string | null
}

export interface DownPeer {
  id: NodeId
  name: string
  address: string
  /** ms since the epoch. */
  at: number
  /** The error code (OVL_HEARTBEAT_TIMEOUT, OVL_PEER_LEFT, ...), or 'closed'. */
  reason: string
}

/** A message as recorded: a received one as the node emitted it (nothing is copied per message), a sent one as a view. */
type Recorded = { at: number; chat: ChatEvent; view?: undefined } | { at: number; view: MessageView; chat?: undefined }

export class RecentActivity {
  readonly #self: { id: NodeId; name: string }
  readonly #messages: Ring<Recorded>
  readonly #down: LRUCache<NodeId, DownPeer>
  readonly #shownChars: number

  constructor(options: { self: { id: NodeId; name: string }; messages: number; downPeers: number; shownChars: number }) {
    this.#self = options.self
    this.#messages = new Ring(options.messages)
    this.#down = new LRUCache({ max: options.downPeers })
    this.#shownChars = options.shownChars
  }

  /** A message received (direct or broadcast): on the hot path, so only a reference is kept. */
  received(chat: ChatEvent, at: number): void {
    this.#messages.push({ at, chat })
  }

  /** A message sent from the page. */
  sent(view: MessageView): void {
    this.#messages.push({ at: view.at, view })
  }

  peerDown(peer: DownPeer): void {
    this.#down.set(peer.id, peer)
  }

  peerUp(id: NodeId): void {
    this.#down.delete(id)
  }

  /** Oldest first; names are left for the caller to fill in. */
  messages(): MessageView[] {
    return this.#messages.toArray().map((m) => {
      const view = m.view ?? this.#received(m.chat, m.at)
      return view.text.length > this.#shownChars ? { ...view, text: `${view.text.slice(0, this.#shownChars)}…` } : view
    })
  }

  #received(chat: ChatEvent, at: number): MessageView {
    const to = chat.broadcast ? null : this.#self.id
    return {
      at,
      direction: 'in',
      from: chat.from,
      fromName: null,
      to,
      toName: to === null ? null : this.#self.name,
      text: chat.text,
      broadcast: chat.broadcast,
      via: chat.via,
      hops: chat.hops,
      status: 'received',
      error: null,
    }
  }

  downPeers(): DownPeer[] {
    return [...this.#down.values()]
  }
}
