/**
 * Connection setup on real UDP sockets (loopback, port 0): the exchange by
 * hand, what an unauthenticated source can make a node hold (bounded, expiring,
 * nothing for a bad cookie), that no reply is larger than its request, that
 * junk datagrams are dropped and reported, and the dialer's side of it.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { UDX_MAGIC, PROBE_MAGIC } from '../../src/constants.js'
import type { OverlayError } from '../../src/errors.js'
import type { OverlayNode } from '../../src/node/node.js'
import type { RemoteAddress } from '../../src/transport/connection.js'
import { ControlType, decodeSetup, encodeSetup, NONCE_BYTES, RejectReason, type SetupDatagram } from '../../src/transport/setup-datagram.js'
import { startNode } from '../helpers/nodes.js'
import { testCa, testCredentials, type TestCredentials } from '../helpers/pki.js'
import { assertServes, RawUdp, rejection, RogueEndpoint, SeededRandom, type Datagram } from '../helpers/rogue.js'
import { nextEvent, until, within } from '../helpers/wait.js'

type Reply = Extract<SetupDatagram, { type: ControlType.SetupCookie | ControlType.SetupAccept | ControlType.SetupReject }>

const random = new SeededRandom(0x5e7)

function freshIds(): { streamId: number; nonce: Buffer } {
  return { streamId: 1 + random.int(0xfffffffe), nonce: random.bytes(NONCE_BYTES) }
}

function request({ streamId, nonce }: { streamId: number; nonce: Buffer }): Buffer {
  return encodeSetup({ type: ControlType.SetupRequest, streamId, nonce })
}

function confirm({ streamId, nonce }: { streamId: number; nonce: Buffer }, cookie: Buffer): Buffer {
  return encodeSetup({ type: ControlType.SetupConfirm, streamId, nonce, cookie })
}

function keyOf(message: { streamId: number; nonce: Buffer }): string {
  return `${message.streamId}/${message.nonce.toString('hex')}`
}

/** The next setup reply to `ids` that `raw` receives. */
async function replyTo(raw: RawUdp, ids: { streamId: number; nonce: Buffer }, ms = 5_000): Promise<Reply> {
  const { data } = await raw.next(({ data }) => {
    const message = decodeSetup(data)
    return message !== null && keyOf(message) === keyOf(ids)
  }, ms)
  return decodeSetup(data) as Reply
}

/** Gets a cookie for `ids` from `node`, the honest way. */
async function cookieFor(raw: RawUdp, node: RemoteAddress, ids: { streamId: number; nonce: Buffer }): Promise<Buffer> {
  raw.send(request(ids), node)
  const reply = await replyTo(raw, ids)
  assert.equal(reply.type, ControlType.SetupCookie)
  return reply.cookie
}

/**
 * Everything sent to `raw` before this returns has arrived: a REQUEST is
 * answered in order after every earlier datagram from the same socket.
 */
async function barrier(raw: RawUdp, node: RemoteAddress): Promise<void> {
  await cookieFor(raw, node, freshIds())
}

/**
 * Keeps `inFlight` setups going from one socket: answers every COOKIE with a
 * CONFIRM and every ACCEPT or REJECT with a new REQUEST, and never goes on to
 * TLS. `check` runs on every reply (to sample the victim's counters).
 */
class Flooder {
  readonly accepted: number[] = []
  /** REJECT(busy) answers. */
  rejected = 0
  /** Any other REJECT: there should be none. */
  otherRejects = 0
  #running = false
  readonly #raw: RawUdp
  readonly #target: RemoteAddress

  constructor(raw: RawUdp, target: RemoteAddress, check: () => void) {
    this.#raw = raw
    this.#target = target
    raw.onDatagram(({ data }) => {
      const message = decodeSetup(data)
      if (message === null) return
      check()
      switch (message.type) {
        case ControlType.SetupCookie:
          raw.send(confirm(message, message.cookie), target)
          return
        case ControlType.SetupAccept:
          this.accepted.push(Date.now())
          break
        case ControlType.SetupReject:
          if (message.reason === RejectReason.Busy) this.rejected++
          else this.otherRejects++
          break
        default:
          return
      }
      if (this.#running) this.#raw.send(request(freshIds()), this.#target)
    })
  }

  get answered(): number {
    return this.accepted.length + this.rejected
  }

  burst(count: number): void {
    for (let i = 0; i < count; i++) this.#raw.send(request(freshIds()), this.#target)
  }

  run(inFlight: number): void {
    this.#running = true
    this.burst(inFlight)
  }

  stop(): void {
    this.#running = false
  }
}

describe('connection setup on a real socket', () => {
  let honest: TestCredentials
  let probe: TestCredentials

  before(async () => {
    const ca = await testCa('setup CA')
    honest = testCredentials(ca, 'honest')
    probe = testCredentials(ca, 'probe')
  })

  function rejections(node: OverlayNode): Array<{ reason: string; from: RemoteAddress }> {
    const seen: Array<{ reason: string; from: RemoteAddress }> = []
    node.on('input:rejected', (reason, from) => typeof from !== 'string' && seen.push({ reason, from }))
    return seen
  }

  it('completes REQUEST, COOKIE, CONFIRM, ACCEPT by hand; a repeated CONFIRM allocates nothing; the entry expires', async (t) => {
    const handshakeTimeoutMs = 400
    const node = await startNode(t, { ...honest, limits: { handshakeTimeoutMs } })
    const raw = RawUdp.open(t)
    const ids = freshIds()
    raw.send(request(ids), node.address)
    const cookie = await replyTo(raw, ids)
    assert.equal(cookie.type, ControlType.SetupCookie)
    assert.deepEqual(node.counts, { sessions: 0, halfOpen: 0, pendingDials: 0, streams: 0 }, 'a REQUEST costs the listener nothing')

    const expired = nextEvent<[{ error: OverlayError }]>(node, 'handshake:failed')
    raw.send(confirm(ids, cookie.cookie), node.address)
    const accept = await replyTo(raw, ids)
    const acceptedAt = Date.now()
    assert.equal(accept.type, ControlType.SetupAccept)
    assert.equal(node.counts.halfOpen, 1)
    assert.equal(node.counts.streams, 1)

    raw.send(confirm(ids, cookie.cookie), node.address)
    const again = await replyTo(raw, ids)
    assert.deepEqual(again, accept, 'the same ACCEPT again')
    assert.equal(node.counts.halfOpen, 1, 'a retransmitted CONFIRM allocates nothing')
    assert.equal(node.counts.streams, 1)

    const [{ error }] = await expired
    assert.equal(error.code, 'OVL_HANDSHAKE_TIMEOUT')
    assert.ok(Date.now() - acceptedAt >= handshakeTimeoutMs - 50, `expired after ${Date.now() - acceptedAt} ms, not before ${handshakeTimeoutMs} ms`)
    await until(() => node.counts.halfOpen === 0 && node.counts.streams === 0, 2_000, 'the half-open entry to be freed')
  })

  it('allocates nothing for a CONFIRM with a bad cookie, and sends no reply', async (t) => {
    const node = await startNode(t, honest)
    const seen = rejections(node)
    const raw = RawUdp.open(t)
    const other = RawUdp.open(t)
    const ids = freshIds()
    const cookie = await cookieFor(raw, node.address, ids)
    const received = raw.received.length

    const forged = Buffer.from(cookie)
    forged[0] = (forged[0] as number) ^ 0x80
    raw.send(confirm(ids, forged), node.address) // tampered
    raw.send(confirm(ids, random.bytes(16)), node.address) // made up
    raw.send(confirm({ streamId: ids.streamId + 1, nonce: ids.nonce }, cookie), node.address) // another stream id
    raw.send(confirm({ streamId: ids.streamId, nonce: random.bytes(NONCE_BYTES) }, cookie), node.address) // another nonce
    other.send(confirm(ids, cookie), node.address) // another source port
    await until(() => seen.filter((r) => r.reason === 'setup-bad-cookie').length === 5, 5_000, 'five bad cookies to be reported')
    await barrier(raw, node.address)
    await barrier(other, node.address)
    assert.equal(raw.received.length, received + 1, 'no reply but the barrier COOKIE')
    assert.equal(other.received.length, 1, 'no reply but the barrier COOKIE')
    assert.deepEqual(node.counts, { sessions: 0, halfOpen: 0, pendingDials: 0, streams: 0 })
  })

  it('answers a flood of REQUESTs statelessly', async (t) => {
    const node = await startNode(t, honest)
    const raw = RawUdp.open(t)
    let cookies = 0
    let maxStreams = 0
    raw.onDatagram(({ data }) => {
      if (decodeSetup(data)?.type === ControlType.SetupCookie) cookies++
      maxStreams = Math.max(maxStreams, node.counts.streams)
    })
    // In rounds, so the loopback socket buffer never overflows.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) raw.send(request(freshIds()), node.address)
      await until(() => cookies === (round + 1) * 100, 5_000, `round ${round} of cookies`)
    }
    assert.equal(maxStreams, 0, 'no stream was ever allocated')
    assert.deepEqual(node.counts, { sessions: 0, halfOpen: 0, pendingDials: 0, streams: 0 })
  })

  it('drops random datagrams, reports each through input:rejected, and keeps serving', async (t) => {
    const node = await startNode(t, honest)
    const seen = rejections(node)
    const raw = RawUdp.open(t)
    const junk: Buffer[] = []
    for (let i = 0; i < 400; i++) junk.push(random.bytes(1 + random.int(1200)))
    // Junk that gets past the first byte: control and probe magic with bad contents, and UDX-looking packets for no stream.
    for (let i = 0; i < 150; i++) {
      const bytes = random.bytes(1 + random.int(100))
      bytes[0] = [0xa5, PROBE_MAGIC, UDX_MAGIC][i % 3] as number
      junk.push(bytes)
    }
    for (let i = 0; i < junk.length; i += 50) {
      for (const bytes of junk.slice(i, i + 50)) raw.send(bytes, node.address)
      await until(() => seen.length === Math.min(i + 50, junk.length), 5_000, `rejections for datagrams ${i}-${i + 49}`)
    }
    const reasons = new Set(seen.map((r) => r.reason))
    // Each handler owning a first byte has its own reasons (STUN's start with stun-).
    for (const reason of reasons) assert.ok(/^(unknown-datagram|stale-stream-packet|setup-(malformed|unexpected)|probe-(malformed|unknown-session)|punch-(malformed|unknown)|stun-[a-z-]+)$/.test(reason), reason)
    assert.ok(seen.every((r) => r.from.port === raw.address.port), 'each is reported with its source')
    await barrier(raw, node.address)
    assert.equal(raw.received.length, 1, 'junk draws no reply')
    assert.deepEqual(node.counts, { sessions: 0, halfOpen: 0, pendingDials: 0, streams: 0 })
    await assertServes(t, node, probe)
  })

  it('bounds what a flood from one source holds, expires it, and still serves another source during the flood', async (t) => {
    const limits = { maxHalfOpen: 6, maxHalfOpenPerSource: 3, handshakeTimeoutMs: 1_000 }
    const node = await startNode(t, { ...honest, limits })
    const seen = rejections(node)
    const timeouts: number[] = []
    node.on('handshake:failed', ({ error }) => {
      if (error.code === 'OVL_HANDSHAKE_TIMEOUT') timeouts.push(Date.now())
    })
    let maxHalfOpen = 0
    let maxStreams = 0
    const check = (): void => {
      maxHalfOpen = Math.max(maxHalfOpen, node.counts.halfOpen)
      maxStreams = Math.max(maxStreams, node.counts.streams - node.counts.sessions)
    }
    const flooder = new Flooder(RawUdp.open(t, '127.0.0.1'), node.address, check)

    // A burst: exactly the per-source quota is accepted, the rest is told busy.
    flooder.burst(40)
    await until(() => flooder.answered === 40, 5_000, 'the burst to be answered')
    assert.equal(flooder.accepted.length, limits.maxHalfOpenPerSource)
    assert.equal(flooder.rejected, 40 - limits.maxHalfOpenPerSource)
    assert.equal(flooder.otherRejects, 0)
    assert.equal(seen.filter((r) => r.reason === 'setup-busy').length, flooder.rejected)
    assert.ok(maxHalfOpen <= limits.maxHalfOpenPerSource, `half-open from one source peaked at ${maxHalfOpen}`)
    assert.ok(maxStreams <= limits.maxHalfOpenPerSource, `streams peaked at ${maxStreams}`)

    // Under continuous pressure from that source, an honest node elsewhere gets a session.
    flooder.run(16)
    await assertServes(t, node, probe, { host: '127.0.0.2' })
    const answeredDuringProbe = flooder.answered
    flooder.stop()
    assert.ok(answeredDuringProbe > 40, 'the flood went on while the honest node connected')
    // The flooding source still holds at most its quota; the honest dialer's own setup is the one more.
    assert.ok(maxHalfOpen <= limits.maxHalfOpenPerSource + 1, `half-open peaked at ${maxHalfOpen}`)
    assert.ok(maxHalfOpen <= limits.maxHalfOpen)
    assert.ok(maxStreams <= limits.maxHalfOpenPerSource + 1, `streams not carrying a session peaked at ${maxStreams}`)

    // Nothing the flood left behind outlives the handshake timeout.
    await until(() => node.counts.halfOpen === 0 && node.counts.streams === 0, 5_000, 'every half-open entry to expire')
    const firstAccept = flooder.accepted[0] as number
    assert.ok(timeouts.length >= limits.maxHalfOpenPerSource)
    assert.ok((timeouts[0] as number) - firstAccept >= limits.handshakeTimeoutMs - 50, 'no entry expired before handshakeTimeoutMs')
  })

  it('holds the global half-open limit against several sources; a refused honest dialer gets through once entries expire', async (t) => {
    const limits = { maxHalfOpen: 6, maxHalfOpenPerSource: 3, handshakeTimeoutMs: 600 }
    const node = await startNode(t, { ...honest, limits })
    const seen = rejections(node)
    let maxHalfOpen = 0
    const check = (): void => {
      maxHalfOpen = Math.max(maxHalfOpen, node.counts.halfOpen)
    }
    const flooders = ['127.0.0.1', '127.0.0.3', '127.0.0.4'].map((host) => new Flooder(RawUdp.open(t, host), node.address, check))
    for (const flooder of flooders) flooder.burst(5)
    await until(() => flooders.every((f) => f.answered === 5), 5_000, 'the bursts to be answered')
    assert.equal(flooders.reduce((sum, f) => sum + f.accepted.length, 0), limits.maxHalfOpen)
    assert.equal(node.counts.halfOpen, limits.maxHalfOpen)

    const prober = await startNode(t, { ...probe, host: '127.0.0.2' })
    const session = await prober.connect(node.address)
    assert.equal(session.peerId, node.nodeId)
    assert.ok(seen.some((r) => r.reason === 'setup-busy' && r.from.host === '127.0.0.2'), 'the honest dialer was told busy first')
    assert.ok(maxHalfOpen <= limits.maxHalfOpen)
  })

  it('never replies with more bytes than the datagram that drew the reply (amplification)', async (t) => {
    const node = await startNode(t, { ...honest, limits: { maxHalfOpenPerSource: 1 } })
    const raw = RawUdp.open(t)
    const sent = new Map<string, number>()
    const send = (bytes: Buffer): void => {
      const message = decodeSetup(bytes)
      const key = message ? keyOf(message) : 'undecodable'
      sent.set(key, (sent.get(key) ?? 0) + bytes.length)
      raw.send(bytes, node.address)
    }

    // Every datagram type, valid and not, in the states that draw a reply.
    const a = freshIds()
    send(request(a)) // → COOKIE
    const cookieA = await replyTo(raw, a)
    assert.equal(cookieA.type, ControlType.SetupCookie)
    send(confirm(a, cookieA.cookie)) // → ACCEPT
    send(confirm(a, cookieA.cookie)) // → ACCEPT again
    const b = freshIds()
    send(request(b))
    const cookieB = await replyTo(raw, b)
    assert.equal(cookieB.type, ControlType.SetupCookie)
    send(confirm(b, cookieB.cookie)) // → REJECT busy (one half-open per source)
    send(confirm(freshIds(), random.bytes(16))) // bad cookie → nothing
    for (const type of [ControlType.SetupCookie, ControlType.SetupAccept, ControlType.SetupReject]) {
      const message = { ...freshIds(), cookie: random.bytes(16), listenerStreamId: 9, reason: RejectReason.Busy, type } as SetupDatagram
      send(encodeSetup(message)) // unsolicited replies → nothing
    }
    for (const length of [16, 20, 32, 63, 65, 128, 1200]) {
      const bytes = Buffer.alloc(length)
      request(freshIds()).copy(bytes, 0, 0, Math.min(64, length))
      send(bytes) // a REQUEST of the wrong size → nothing
    }
    for (let i = 0; i < 50; i++) send(random.bytes(1 + random.int(200))) // junk → nothing
    // A last REQUEST: its COOKIE comes after every reply to what was sent before.
    const last = freshIds()
    send(request(last))
    await replyTo(raw, last)

    const received = new Map<string, number>()
    // Setup replies, keyed by the exchange they answer. The accepted stream may also send a
    // UDX packet of its own to the raw socket: not a reply, but counted in the total.
    const replies: Datagram[] = raw.received.filter(({ data }) => data[0] !== UDX_MAGIC)
    const streamBytes = raw.received.filter(({ data }) => data[0] === UDX_MAGIC).reduce((sum, { data }) => sum + data.length, 0)
    for (const { data } of replies) {
      const message = decodeSetup(data)
      assert.ok(message, 'every reply is a setup datagram')
      received.set(keyOf(message), (received.get(keyOf(message)) ?? 0) + data.length)
      assert.ok(data.length <= 64, `a ${data.length}-byte reply`)
    }
    for (const [key, bytes] of received) {
      assert.ok(bytes <= (sent.get(key) ?? 0), `exchange ${key}: ${bytes} bytes back for ${sent.get(key) ?? 0} sent`)
    }
    const types = replies.map(({ data }) => decodeSetup(data)?.type)
    assert.deepEqual(types.filter((type) => type === ControlType.SetupAccept).length, 2)
    assert.deepEqual(types.filter((type) => type === ControlType.SetupReject).length, 1)
    const total = [...received.values()].reduce((x, y) => x + y, streamBytes)
    assert.ok(total < raw.sentBytes, `${total} bytes back for ${raw.sentBytes} sent`)
  })

  it('answers a REQUEST with REJECT(closing) no larger than the request once setup is closed', async (t) => {
    const listener = RogueEndpoint.start(t)
    const raw = RawUdp.open(t)
    const ids = freshIds()
    const cookie = await cookieFor(raw, listener.address, ids)
    listener.setup.close()
    const later = freshIds()
    raw.send(request(later), listener.address)
    const reply = await replyTo(raw, later)
    assert.deepEqual(reply, { type: ControlType.SetupReject, ...later, reason: RejectReason.Closing })
    raw.send(confirm(ids, cookie), listener.address)
    const rejected = await replyTo(raw, ids)
    assert.equal(rejected.type, ControlType.SetupReject)
    assert.ok(raw.received.every(({ data }) => data.length <= 64))
  })
})

describe("the dialer's side", () => {
  function dialer(t: Parameters<typeof RogueEndpoint.start>[0], dialTimeoutMs: number): RogueEndpoint {
    return RogueEndpoint.start(t, { dialTimeoutMs })
  }

  it('sends a padded REQUEST, retransmits it with backoff, and completes with CONFIRM on the cookie', async (t) => {
    const endpoint = dialer(t, 5_000)
    const raw = RawUdp.open(t)
    const first = raw.next()
    const dialing = endpoint.dial(raw.address)
    const { data: req1 } = await first
    const sentAt = Date.now()
    const message = decodeSetup(req1)
    assert.equal(req1.length, 64)
    assert.equal(message?.type, ControlType.SetupRequest)
    assert.ok(message)
    const { data: req2 } = await raw.next()
    assert.ok(Date.now() - sentAt >= 100, 'the retransmission waits (200 ms, jittered by the timer)')
    assert.deepEqual(req2, req1, 'the same REQUEST again')

    const cookie = random.bytes(16)
    const confirmed = raw.next((d) => decodeSetup(d.data)?.type === ControlType.SetupConfirm)
    raw.send(encodeSetup({ type: ControlType.SetupCookie, streamId: message.streamId, nonce: message.nonce, cookie }), endpoint.address)
    const confirmation = decodeSetup((await confirmed).data)
    assert.deepEqual(confirmation, { type: ControlType.SetupConfirm, streamId: message.streamId, nonce: message.nonce, cookie })

    raw.send(encodeSetup({ type: ControlType.SetupAccept, streamId: message.streamId, nonce: message.nonce, listenerStreamId: 77 }), endpoint.address)
    const connection = await dialing
    assert.deepEqual(connection.remote, raw.address)
    assert.equal(connection.direction, 'outbound')
    assert.equal(connection.stream.remoteId, 77)
  })

  it('ignores replies with another nonce or from another address, and answers them with nothing', async (t) => {
    const endpoint = dialer(t, 600)
    const raw = RawUdp.open(t)
    const impostor = RawUdp.open(t)
    const drops: string[] = []
    endpoint.setup.on('dropped', (reason) => drops.push(reason))
    const firstRequest = raw.next()
    const dialing = rejection(endpoint.dial(raw.address))
    const message = decodeSetup((await firstRequest).data)
    assert.ok(message)
    const { streamId } = message
    const cookie = random.bytes(16)
    const accept = (nonce: Buffer): Buffer => encodeSetup({ type: ControlType.SetupAccept, streamId, nonce, listenerStreamId: 5 })
    const cookieReply = (nonce: Buffer): Buffer => encodeSetup({ type: ControlType.SetupCookie, streamId, nonce, cookie })
    raw.send(accept(random.bytes(NONCE_BYTES)), endpoint.address)
    raw.send(cookieReply(random.bytes(NONCE_BYTES)), endpoint.address)
    impostor.send(accept(message.nonce), endpoint.address)
    // A COOKIE is the one reply a dialer answers with a larger datagram (CONFIRM, 64 B): only the
    // dialed address with the dial's nonce can draw it, never a third party.
    impostor.send(cookieReply(message.nonce), endpoint.address)
    await until(() => drops.length === 4, 5_000, 'the four replies to be dropped')
    assert.deepEqual(drops, ['setup-unexpected', 'setup-unexpected', 'setup-unexpected', 'setup-unexpected'])
    assert.ok(raw.received.every(({ data }) => decodeSetup(data)?.type === ControlType.SetupRequest), 'no CONFIRM was drawn')
    assert.equal((await dialing).code, 'OVL_SETUP_TIMEOUT', 'neither reply connected the dial')
    assert.equal(impostor.received.length, 0, 'the dialer sends nothing to a stranger')
  })

  it('refuses to dial a host that is not an IPv4 address (OVL_SETUP_ADDRESS), and keeps nothing for it', async (t) => {
    const endpoint = dialer(t, 300)
    for (const host of ['localhost', 'boot.example.net', '::1', '']) {
      const error = await rejection(endpoint.dial({ host, port: 9000 }))
      assert.equal(error.code, 'OVL_SETUP_ADDRESS', host)
    }
    assert.equal(endpoint.setup.pendingDialCount, 0)
    assert.equal(endpoint.socket.streamCount, 0, 'no stream was made')
  })

  it('fails with OVL_SETUP_TIMEOUT when nobody answers within dialTimeoutMs', async (t) => {
    const endpoint = dialer(t, 300)
    const raw = RawUdp.open(t)
    const started = Date.now()
    const error = await rejection(endpoint.dial(raw.address))
    assert.equal(error.code, 'OVL_SETUP_TIMEOUT')
    assert.ok(Date.now() - started >= 280)
    assert.equal(endpoint.setup.pendingDialCount, 0)
    assert.equal(endpoint.socket.streamCount, 0, 'the stream of the failed dial is gone')
  })

  it('fails with OVL_SETUP_REFUSED on REJECT(closing), and after dialTimeoutMs of REJECT(busy)', async (t) => {
    const endpoint = dialer(t, 500)
    /** A fake listener that answers every REQUEST with REJECT(reason). */
    const rejecting = (reason: RejectReason): RawUdp => {
      const raw = RawUdp.open(t)
      raw.onDatagram(({ data }) => {
        const message = decodeSetup(data)
        if (message?.type !== ControlType.SetupRequest) return
        raw.send(encodeSetup({ type: ControlType.SetupReject, streamId: message.streamId, nonce: message.nonce, reason }), endpoint.address)
      })
      return raw
    }
    const closing = rejecting(RejectReason.Closing)
    const busy = rejecting(RejectReason.Busy)

    const started = Date.now()
    assert.equal((await rejection(endpoint.dial(closing.address))).code, 'OVL_SETUP_REFUSED')
    assert.ok(Date.now() - started < 400, 'a closing listener fails the dial at once')
    assert.equal(closing.received.length, 1)

    const startedBusy = Date.now()
    assert.equal((await rejection(endpoint.dial(busy.address))).code, 'OVL_SETUP_REFUSED')
    assert.ok(Date.now() - startedBusy >= 480, 'a busy listener is retried until the dial deadline')
    assert.ok(busy.received.length >= 2, `the dialer started over after REJECT(busy) (${busy.received.length} REQUESTs)`)
  })

  it('refuses more than MAX_PENDING_DIALS at once (OVL_SETUP_LIMIT), and fails pending dials on close (OVL_NODE_CLOSED)', async (t) => {
    const endpoint = dialer(t, 60_000)
    const raw = RawUdp.open(t)
    const pending = Array.from({ length: 256 }, () => rejection(endpoint.dial(raw.address)))
    assert.equal((await rejection(endpoint.dial(raw.address))).code, 'OVL_SETUP_LIMIT')
    endpoint.setup.close()
    for (const error of await Promise.all(pending)) assert.equal(error.code, 'OVL_NODE_CLOSED')
    assert.equal(endpoint.setup.pendingDialCount, 0)
    assert.equal((await rejection(endpoint.dial(raw.address))).code, 'OVL_NODE_CLOSED')
  })

  it('rejects an aborted dial with OVL_ABORTED', async (t) => {
    const endpoint = dialer(t, 5_000)
    const raw = RawUdp.open(t)
    const controller = new AbortController()
    const dialing = endpoint.setup.dial(raw.address, { signal: controller.signal }).catch((err: unknown) => err)
    await raw.next()
    controller.abort()
    const error = await within(2_000, dialing, 'the dial to fail')
    assert.equal((error as OverlayError).code, 'OVL_ABORTED')
    assert.equal(endpoint.setup.pendingDialCount, 0)
  })
})

