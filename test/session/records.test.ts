/**
 * Session records: the reader, sealer and opener on raw bytes; a SecureChannel
 * pair over real TLS 1.3; then what an authenticated rogue can do with records
 * on a real session (each refusal closes that session with its own code, the
 * rogue is told, and the node keeps serving).
 */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { Duplex } from 'node:stream'
import tls from 'node:tls'
import { before, describe, it, type TestContext } from 'node:test'
import { ALPN_PROTOCOL } from '../../src/constants.js'
import { ProtocolError, type ErrorCode, type OverlayError } from '../../src/errors.js'
import { encodeMessage } from '../../src/messaging/codec.js'
import { MessageType } from '../../src/messaging/messages.js'
import type { OverlaySession } from '../../src/node/node.js'
import { encodeFrame } from '../../src/session/framing.js'
import {
  deriveRecordKeys,
  MAX_SEALED_PLAINTEXT_BYTES,
  MAX_TLS_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  RecordKind,
  RecordNonces,
  RecordOpener,
  RecordReader,
  RecordSealer,
  TAG_BYTES,
  tlsRecord,
  type RecordKeys,
} from '../../src/session/records.js'
import { SecureChannel } from '../../src/session/secure-channel.js'
import { startNode } from '../helpers/nodes.js'
import { testCa, testCredentials, type TestCredentials } from '../helpers/pki.js'
import { assertLocalCode, assertServes, assertToldByClose, authenticatedRogue, openRogueTls, rejection, RogueEndpoint, SeededRandom, type RogueChannel, type RogueTlsInit } from '../helpers/rogue.js'
import { nextEvent, until } from '../helpers/wait.js'

function keys(seed: number): RecordKeys {
  const random = new SeededRandom(seed)
  return { key: random.bytes(32), iv: random.bytes(12) }
}

function assertCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code)
}

function readAll(reader: RecordReader, chunks: Buffer[]): Array<{ kind: number; record: Buffer }> {
  const out: Array<{ kind: number; record: Buffer }> = []
  for (const chunk of chunks) reader.push(chunk, (kind, record) => out.push({ kind, record: Buffer.from(record) }))
  return out
}

describe('records on raw bytes', () => {
  const sealed = (): Buffer[] => {
    const sealer = new RecordSealer(keys(1))
    return [sealer.seal(Buffer.from('first')), sealer.seal(Buffer.from('second'))]
  }

  it('seals and opens in order', () => {
    const opener = new RecordOpener(keys(1))
    const [a, b] = sealed() as [Buffer, Buffer]
    assert.equal(a.length, RECORD_HEADER_BYTES + 5 + TAG_BYTES)
    assert.equal(a[0], RecordKind.Sealed)
    assert.equal(opener.openInPlace(a).toString(), 'first')
    assert.equal(opener.openInPlace(b).toString(), 'second')
  })

  it('opens in place: the plaintext is a view of the record; a refused record\'s plaintext is wiped, not decrypted', () => {
    const [a, b] = sealed() as [Buffer, Buffer]
    assertCode(() => new RecordOpener(keys(1)).openInPlace(b), 'OVL_SESSION_RECORD_INVALID') // out of order
    assert.deepEqual(b.subarray(RECORD_HEADER_BYTES, b.length - TAG_BYTES), Buffer.alloc(6))
    const plaintext = new RecordOpener(keys(1)).openInPlace(a)
    assert.equal(plaintext.buffer, a.buffer)
    assert.equal(plaintext.byteOffset, a.byteOffset + RECORD_HEADER_BYTES)
    assert.equal(a.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + 5).toString(), 'first')
  })

  it('hides the plaintext, and seals the same bytes differently each time', () => {
    const sealer = new RecordSealer(keys(1))
    const plain = Buffer.from('the same words')
    const one = sealer.seal(plain)
    const two = sealer.seal(plain)
    assert.ok(!one.includes(plain))
    assert.notDeepEqual(one.subarray(RECORD_HEADER_BYTES), two.subarray(RECORD_HEADER_BYTES))
  })

  it('refuses a record with any single bit flipped, header, ciphertext or tag: OVL_SESSION_RECORD_INVALID', () => {
    const [a] = sealed() as [Buffer]
    for (let bit = 0; bit < a.length * 8; bit++) {
      if (bit >= 8 && bit < RECORD_HEADER_BYTES * 8) continue // the length: the reader's business, below
      const altered = Buffer.from(a)
      altered[bit >> 3] = (altered[bit >> 3] as number) ^ (1 << (bit & 7))
      assertCode(() => new RecordOpener(keys(1)).openInPlace(altered), 'OVL_SESSION_RECORD_INVALID')
    }
  })

  it('refuses a replayed, a reordered, a reflected or a foreign record: OVL_SESSION_RECORD_INVALID', () => {
    const [a, b] = sealed() as [Buffer, Buffer]
    const replay = new RecordOpener(keys(1))
    // Copies: a record opened in place is plaintext afterwards.
    replay.openInPlace(Buffer.from(a))
    assertCode(() => replay.openInPlace(Buffer.from(a)), 'OVL_SESSION_RECORD_INVALID')
    assertCode(() => new RecordOpener(keys(1)).openInPlace(b), 'OVL_SESSION_RECORD_INVALID')
    assertCode(() => new RecordOpener(keys(2)).openInPlace(a), 'OVL_SESSION_RECORD_INVALID')
    // Reflected: a record sent back to the side that sealed it.
    const client = deriveRecordKeys({ exportKeyingMaterial: () => new SeededRandom(3).bytes(88) }, 'client')
    const mine = new RecordSealer(client.send).seal(Buffer.from('to the server'))
    assertCode(() => new RecordOpener(client.receive).openInPlace(mine), 'OVL_SESSION_RECORD_INVALID')
  })

  it('is ChaCha20-Poly1305 as OpenSSL computes it: key and IV layout, nonces, header as additional data', () => {
    const material = new SeededRandom(11).bytes(88)
    const client = deriveRecordKeys({ exportKeyingMaterial: () => Buffer.from(material) }, 'client')
    const server = deriveRecordKeys({ exportKeyingMaterial: () => Buffer.from(material) }, 'server')
    const layouts = [
      { sealer: new RecordSealer(client.send), key: material.subarray(0, 32), iv: material.subarray(32, 44) },
      { sealer: new RecordSealer(server.send), key: material.subarray(44, 76), iv: material.subarray(76, 88) },
    ]
    for (const { sealer, key, iv } of layouts) {
      for (let counter = 0; counter < 3; counter++) {
        const plain = Buffer.from(`record ${counter}`)
        const record = sealer.seal(plain)
        const nonce = Buffer.from(iv)
        nonce[11] = (nonce[11] as number) ^ counter
        const decipher = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES })
        decipher.setAAD(record.subarray(0, RECORD_HEADER_BYTES), { plaintextLength: plain.length })
        decipher.setAuthTag(record.subarray(record.length - TAG_BYTES))
        const opened = Buffer.concat([decipher.update(record.subarray(RECORD_HEADER_BYTES, record.length - TAG_BYTES)), decipher.final()])
        assert.deepEqual(opened, plain)
      }
    }
  })

  it('puts the whole 64-bit counter in the nonce, high word included', () => {
    const iv = Buffer.from('000102030405060708090a0b', 'hex')
    const nonces = new RecordNonces(iv)
    assert.equal(nonces.at(0).toString('hex'), iv.toString('hex'))
    const nonce = nonces.at(2 ** 40 + 2 ** 32 * 3 + 0x01020304)
    // counter = 0x00000103_01020304: bytes 4-7 get 0x00000103, bytes 8-11 0x01020304
    assert.equal(nonce.toString('hex'), '00010203' + (0x04050607 ^ 0x103).toString(16).padStart(8, '0') + (0x08090a0b ^ 0x01020304).toString(16).padStart(8, '0'))
  })

  it('derives one key per direction: what the client seals, only the server opens', () => {
    const material = crypto.randomBytes(88)
    // A copy each time: the derivation wipes the material it was given.
    const socket = { exportKeyingMaterial: (length: number, label: string) => (assert.equal(length, 88), assert.notEqual(label, 'EXPORTER-Channel-Binding'), Buffer.from(material)) }
    const client = deriveRecordKeys(socket, 'client')
    const server = deriveRecordKeys(socket, 'server')
    const record = new RecordSealer(client.send).seal(Buffer.from('hi'))
    assert.equal(new RecordOpener(server.receive).openInPlace(Buffer.from(record)).toString(), 'hi')
    assertCode(() => new RecordOpener(client.receive).openInPlace(record), 'OVL_SESSION_RECORD_INVALID')
  })

  it('cuts records out of a stream split at every byte boundary', () => {
    const stream = Buffer.concat([tlsRecord(Buffer.from('hello tls')), ...sealed()])
    const whole = readAll(new RecordReader(), [stream])
    assert.equal(whole.length, 3)
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.deepEqual(readAll(new RecordReader(), [stream.subarray(0, cut), stream.subarray(cut)]), whole, `split at ${cut}`)
    }
    assert.deepEqual(readAll(new RecordReader(), [...stream].map((byte) => Buffer.from([byte]))), whole, 'one byte at a time')
  })

  it('refuses unknown kinds and lengths outside the limits from the header alone: OVL_SESSION_RECORD_MALFORMED', () => {
    const header = (kind: number, length: number): Buffer => {
      const out = Buffer.alloc(RECORD_HEADER_BYTES)
      out[0] = kind
      out.writeUInt32BE(length, 1)
      return out
    }
    for (const bad of [header(0x00, 10), header(0x03, 10), header(0x17, 10), header(RecordKind.Tls, 0), header(RecordKind.Tls, MAX_TLS_RECORD_BYTES + 1), header(RecordKind.Sealed, TAG_BYTES), header(RecordKind.Sealed, MAX_SEALED_PLAINTEXT_BYTES + TAG_BYTES + 1), header(RecordKind.Sealed, 2 ** 31)]) {
      assertCode(() => new RecordReader().push(bad, () => assert.fail('no record from a bad header')), 'OVL_SESSION_RECORD_MALFORMED')
    }
  })
})

/** Two in-memory streams, each writing into the other. */
function streamPair(): [Duplex, Duplex] {
  const ends: Duplex[] = []
  for (let i = 0; i < 2; i++) {
    ends.push(
      new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          ends[1 - i]?.push(chunk)
          callback()
        },
        final(callback) {
          ends[1 - i]?.push(null)
          callback()
        },
      }),
    )
  }
  return ends as [Duplex, Duplex]
}

describe('SecureChannel over real TLS 1.3', () => {
  let a: TestCredentials
  let b: TestCredentials

  before(async () => {
    const ca = await testCa('records CA')
    a = testCredentials(ca, 'a')
    b = testCredentials(ca, 'b')
  })

  /** A client and a server channel on the two ends of an in-memory stream pair, TLS under way; destroyed after the test. */
  function channels(t: TestContext): { client: SecureChannel; server: SecureChannel; streams: [Duplex, Duplex] } {
    const streams = streamPair()
    const context = (creds: TestCredentials): tls.SecureContext => tls.createSecureContext({ ...creds.credentials, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })
    const client = new SecureChannel(streams[0], 'client', (transport) =>
      tls.connect({ socket: transport, secureContext: context(a), ALPNProtocols: [ALPN_PROTOCOL], checkServerIdentity: () => undefined }),
    )
    const server = new SecureChannel(streams[1], 'server', (transport) =>
      new tls.TLSSocket(transport, { isServer: true, secureContext: context(b), requestCert: true, rejectUnauthorized: true, ALPNProtocols: [ALPN_PROTOCOL] }),
    )
    t.after(() => {
      client.destroy()
      server.destroy()
    })
    return { client, server, streams }
  }

  /** Both channels with their handshakes complete and secure() called on each. */
  async function pair(t: TestContext): Promise<{ client: SecureChannel; server: SecureChannel; streams: [Duplex, Duplex] }> {
    const { client, server, streams } = channels(t)
    const clientTls = client.tls
    const serverTls = server.tls
    await Promise.all([nextEvent(clientTls, 'secureConnect', () => true, 5_000), nextEvent(serverTls, 'secure', () => true, 5_000)])
    const clientResult = client.secure()
    const serverResult = server.secure()
    assert.deepEqual(clientResult.exporter, serverResult.exporter)
    return { client, server, streams }
  }

  function collect(channel: SecureChannel): { chunks: Buffer[]; bytes: () => number } {
    const chunks: Buffer[] = []
    channel.on('data', (chunk) => chunks.push(chunk))
    channel.start()
    return { chunks, bytes: () => chunks.reduce((sum, c) => sum + c.length, 0) }
  }

  it('carries bytes both ways, and cuts a write larger than a record into records', async (t) => {
    const { client, server, streams } = await pair(t)
    const atServer = collect(server)
    const atClient = collect(client)
    let records = 0
    streams[0].on('data', () => {}) // (the client's inbound; counted below on the server's)
    const write = streams[0].write.bind(streams[0])
    streams[0].write = ((chunk: Buffer) => {
      if (chunk[0] === RecordKind.Sealed) records++
      return write(chunk)
    }) as typeof streams[0]['write']
    const big = crypto.randomBytes(MAX_SEALED_PLAINTEXT_BYTES * 2 + 100)
    client.write(big)
    server.write(Buffer.from('pong'))
    await until(() => atServer.bytes() === big.length && atClient.bytes() === 4, 5_000, 'both directions to arrive')
    assert.deepEqual(Buffer.concat(atServer.chunks), big)
    assert.equal(Buffer.concat(atClient.chunks).toString(), 'pong')
    assert.equal(records, 3)
  })

  it('holds sealed records that arrive before start(), and no more than its limit', async (t) => {
    const { client, server } = await pair(t)
    client.write(Buffer.from('early'))
    const atServer = collect(server)
    await until(() => atServer.bytes() === 5, 5_000, 'the early record')
    assert.equal(atServer.chunks[0]?.toString(), 'early')

    const second = await pair(t)
    const errors: Error[] = []
    second.server.on('error', (err) => errors.push(err))
    for (let i = 0; i < 20; i++) second.client.write(Buffer.alloc(1024))
    await until(() => errors.length > 0, 5_000, 'the limit on early records')
    assert.equal((errors[0] as OverlayError).code, 'OVL_SESSION_RECORD_MALFORMED')
  })

  it('lets a client that closes at once finish its handshake first, so the server reads why', async (t) => {
    // In memory everything happens in one turn: the client's sealed records can overtake its
    // TLS Finished (node:tls completes each write a turn later), and an end right behind them
    // would cut the Finished off.
    const { client, server } = channels(t)
    const serverSecure = nextEvent(server.tls, 'secure', () => true, 5_000)
    await nextEvent(client.tls, 'secureConnect', () => true, 5_000)
    client.secure()
    collect(client)
    client.write(Buffer.from('refused: here is why'))
    client.end()
    await serverSecure
    server.secure()
    const atServer = collect(server)
    const ended = nextEvent(server, 'end', () => true, 5_000)
    await ended
    assert.equal(Buffer.concat(atServer.chunks).toString(), 'refused: here is why')
  })

  it('reports a stream that ends inside a record: OVL_FRAME_TRUNCATED', async (t) => {
    const { client, server, streams } = await pair(t)
    collect(server)
    collect(client)
    const error = nextEvent<[Error]>(server, 'error', () => true, 5_000)
    streams[0].write(Buffer.from([RecordKind.Sealed, 0, 0, 0, 40, 1, 2, 3]))
    streams[0].end()
    assert.equal(((await error)[0] as OverlayError).code, 'OVL_FRAME_TRUNCATED')
  })
})

describe('record attacks on real nodes', () => {
  let honest: TestCredentials
  let probe: TestCredentials
  let member: TestCredentials

  before(async () => {
    const ca = await testCa('record attacks CA')
    honest = testCredentials(ca, 'honest')
    probe = testCredentials(ca, 'probe')
    member = testCredentials(ca, 'member')
  })

  describe('on a session that is up', () => {

    /** Records the rogue writes on its stream from now on, as sent. */
    function recordWrites(channel: RogueChannel): Buffer[] {
      const written: Buffer[] = []
      const write = channel.stream.write.bind(channel.stream)
      channel.stream.write = ((chunk: Buffer) => {
        written.push(Buffer.from(chunk))
        return write(chunk)
      }) as typeof channel.stream.write
      return written
    }

    function chatFrame(text: string): Buffer {
      const { type, body } = encodeMessage({ type: MessageType.Chat, id: 0, text })
      return encodeFrame(type, body)
    }

    /** `attack` on an up session closes it with `code`; the rogue is told; the node keeps serving. */
    async function refusedOnSession(t: TestContext, code: ErrorCode, attack: (channel: RogueChannel) => Promise<void> | void): Promise<void> {
      const node = await startNode(t, honest)
      const { channel, session } = await authenticatedRogue(t, node, member)
      const down = nextEvent<[OverlaySession, OverlayError | null]>(node, 'session:down', (s) => s === session)
      await attack(channel)
      assertLocalCode((await down)[1], code)
      await assertToldByClose(t, channel, code)
      await until(() => node.counts.sessions === 0 && node.counts.streams === 0, 5_000, 'the session to be released')
      await assertServes(t, node, probe)
    }

    it('closes the session on a sealed record with one bit flipped: OVL_SESSION_RECORD_INVALID', async (t) => {
      await refusedOnSession(t, 'OVL_SESSION_RECORD_INVALID', (channel) => {
        // The rogue's next record is altered on its way to the stream: one bit of its ciphertext.
        const write = channel.stream.write.bind(channel.stream)
        channel.stream.write = ((chunk: Buffer) => {
          channel.stream.write = write
          const altered = Buffer.from(chunk)
          altered[RECORD_HEADER_BYTES + 3] = (altered[RECORD_HEADER_BYTES + 3] as number) ^ 0x01
          return write(altered)
        }) as typeof channel.stream.write
        channel.channel.write(chatFrame('altered on the way'))
      })
    })

    it('closes the session on a replayed sealed record: OVL_SESSION_RECORD_INVALID', async (t) => {
      await refusedOnSession(t, 'OVL_SESSION_RECORD_INVALID', async (channel) => {
        const written = recordWrites(channel)
        channel.channel.write(chatFrame('once'))
        const record = written.at(-1) as Buffer
        channel.stream.write(record)
      })
    })

    it('closes the session on a TLS record after the handshake: OVL_SESSION_RECORD_MALFORMED', async (t) => {
      await refusedOnSession(t, 'OVL_SESSION_RECORD_MALFORMED', (channel) => {
        channel.stream.write(tlsRecord(Buffer.from([0x17, 0x03, 0x03, 0x00, 0x01, 0x00])))
      })
    })

    it('closes the session on a record of unknown kind: OVL_SESSION_RECORD_MALFORMED', async (t) => {
      await refusedOnSession(t, 'OVL_SESSION_RECORD_MALFORMED', (channel) => {
        channel.stream.write(Buffer.from([0x17, 0x03, 0x03, 0x00, 0x10]))
      })
    })

    it('closes the session on random bytes as stream data: OVL_SESSION_RECORD_MALFORMED', async (t) => {
      await refusedOnSession(t, 'OVL_SESSION_RECORD_MALFORMED', (channel) => {
        const random = new SeededRandom(7).bytes(4096)
        assert.ok(random[0] !== RecordKind.Tls && random[0] !== RecordKind.Sealed, 'this seed starts with no record kind')
        channel.stream.write(random)
      })
    })

    it('closes the session on random bytes behind a well-formed SEALED header: OVL_SESSION_RECORD_INVALID', async (t) => {
      await refusedOnSession(t, 'OVL_SESSION_RECORD_INVALID', (channel) => {
        const random = new SeededRandom(8).bytes(4096)
        random[0] = RecordKind.Sealed
        random.writeUInt32BE(4000, 1)
        channel.stream.write(random)
      })
    })
  })

  describe('on a node that dials', () => {

    /**
     * The honest node dials a rogue listener (a member of the network) that
     * breaks one rule during or right after the handshake: the dial fails with
     * `code`, and the node, which must not crash, keeps serving.
     */
    async function dialFails(t: TestContext, init: Partial<RogueTlsInit>, code: ErrorCode): Promise<void> {
      const node = await startNode(t, honest)
      const rogue = RogueEndpoint.start(t)
      const connecting = rejection(node.connect(rogue.address))
      const opening = openRogueTls(await rogue.accept(), 'server', { credentials: member.credentials, ...init })
      t.after(async () => (await opening.catch(() => null))?.destroy())
      assertLocalCode(await connecting, code)
      assert.equal(node.counts.sessions, 0)
      await assertServes(t, node, probe)
    }

    it('fails the dial on an unknown record kind right behind the handshake flight: OVL_TLS_HANDSHAKE_FAILED', async (t) => {
      await dialFails(t, { tamperTls: (record, index) => (index === 0 ? Buffer.concat([record, Buffer.from([0x07, 0, 0, 0, 1, 0])]) : record) }, 'OVL_TLS_HANDSHAKE_FAILED')
    })

    it('fails the dial on a garbage TLS record right behind the handshake flight: OVL_TLS_HANDSHAKE_FAILED', async (t) => {
      const garbage = tlsRecord(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), new SeededRandom(9).bytes(32)]))
      await dialFails(t, { tamperTls: (record, index) => (index === 0 ? Buffer.concat([record, garbage]) : record) }, 'OVL_TLS_HANDSHAKE_FAILED')
    })

    it('fails the dial when the listener sends more TLS than a handshake takes: OVL_SESSION_RECORD_MALFORMED', async (t) => {
      // TLS application data after the handshake, which nobody reads: without a limit the dialer would hold all of it.
      await dialFails(t, { beforeSecure: (socket) => new Promise((resolve) => socket.write(Buffer.alloc(256 * 1024), () => resolve())) }, 'OVL_SESSION_RECORD_MALFORMED')
    })
  })
})
