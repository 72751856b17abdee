/**
 * The peer cache on a real LevelDB: entries survive a reopen, stale ones
 * expire, a corrupt database is set aside and rebuilt, a locked one is a
 * clear error, and bad entries are dropped one by one.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Level } from 'level'
import { PeerStore } from '../../src/discovery/peer-store.js'
import { Identity } from '../../src/identity/identity.js'
import { silentLogger } from '../../src/log/logger.js'
import { AddressKind, NatType, signRecord, type PeerRecord } from '../../src/messaging/peer-record.js'
import { tempDir } from '../helpers/pki.js'

const DAY = 86_400_000

function record(name: string, seq = 1, identity = Identity.generate()): PeerRecord {
  return signRecord(identity, { name, nat: NatType.Unknown, flags: 0, seq, addresses: [{ kind: AddressKind.Local, address: '127.0.0.1:9000' }] })
}

async function store(dir: string, now = () => Date.now(), ttlMs = 7 * DAY, maxEntries = 100): Promise<PeerStore> {
  const s = new PeerStore({ dir, ttlMs, maxEntries, logger: silentLogger, now })
  await s.open()
  return s
}

describe('PeerStore (LevelDB)', () => {
  it('keeps verified records across a reopen, newest first, and forgets those past the TTL', async () => {
    const dir = path.join(await tempDir('peers-'), 'peers')
    let now = 1_000 * DAY
    const s = await store(dir, () => now)
    const old = record('old')
    assert.ok(s.putRecord(old))
    now += DAY
    const fresh = record('fresh')
    assert.ok(s.putRecord(fresh))
    s.connected(fresh.nodeId)
    s.dialFailed(old.nodeId, 'OVL_SETUP_TIMEOUT')
    await s.close()

    now += 6.5 * DAY // old is 7.5 days unseen, fresh 6.5
    const again = await store(dir, () => now)
    assert.deepEqual(again.dialOrder().map((e) => e.record.name), ['fresh'])
    const entry = again.get(fresh.nodeId)
    assert.equal(entry?.dialSuccesses, 1)
    assert.deepEqual(entry?.record, fresh)
    await again.close()
  })

  it('refuses forged records and older seqs; a newer record from a node that left brings it back', async () => {
    const s = await store(path.join(await tempDir('peers-'), 'peers'))
    const id = Identity.generate()
    const r2 = record('a', 2, id)
    assert.ok(s.putRecord(r2))
    assert.equal(s.putRecord(record('a', 1, id)), false, 'older seq')
    assert.equal(s.putRecord({ ...record('a', 3, id), name: 'forged' }), false, 'bad signature')
    s.left(id.nodeId)
    assert.notEqual(s.get(id.nodeId)?.leftAt, null)
    assert.equal(s.dialOrder().at(-1)?.record.nodeId, id.nodeId, 'peers that left are dialed last')
    assert.ok(s.putRecord(record('a', 4, id)))
    assert.equal(s.get(id.nodeId)?.leftAt, null)
    await s.close()
  })

  it('keeps at most maxEntries, dropping the least recently seen', async () => {
    let now = 0
    const s = await store(path.join(await tempDir('peers-'), 'peers'), () => now, DAY, 3)
    const names = ['a', 'b', 'c', 'd', 'e']
    for (const name of names) {
      now += 1_000
      s.putRecord(record(name))
    }
    assert.deepEqual(s.dialOrder().map((e) => e.record.name), ['e', 'd', 'c'])
    await s.close()
  })

  it('sets a corrupt database aside and starts a new one', async () => {
    const root = await tempDir('peers-')
    const dir = path.join(root, 'peers')
    const s = await store(dir)
    s.putRecord(record('x'))
    await s.close()
    await fs.writeFile(path.join(dir, 'CURRENT'), 'MANIFEST-999999\n') // points at a manifest that does not exist
    const again = new PeerStore({ dir, ttlMs: DAY, maxEntries: 10, logger: silentLogger })
    const opened = await again.open()
    assert.ok(opened.rebuiltFrom?.startsWith(`${dir}.corrupt-`), `moved aside: ${opened.rebuiltFrom}`)
    assert.equal(opened.loaded, 0)
    assert.ok(again.putRecord(record('y')), 'the new cache works')
    await again.close()
    assert.ok((await fs.readdir(root)).some((name) => name.startsWith('peers.corrupt-')), 'the old one is kept for a look')
  })

  it('drops entries that do not parse or verify, and keeps the rest', async () => {
    const dir = path.join(await tempDir('peers-'), 'peers')
    const s = await store(dir)
    const good = record('good')
    s.putRecord(good)
    await s.close()
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    await db.put('junk', 'not json')
    await db.put(Identity.generate().nodeId, JSON.stringify({ record: 'AAAA', lastSeen: 1, firstSeen: 1 }))
    await db.close()
    const again = new PeerStore({ dir, ttlMs: 7 * DAY, maxEntries: 10, logger: silentLogger })
    const opened = await again.open()
    assert.deepEqual({ loaded: opened.loaded, invalid: opened.invalid }, { loaded: 1, invalid: 2 })
    assert.equal(again.get(good.nodeId)?.record.name, 'good')
    await again.close()
  })

  it('is a clear error when another process holds the database', async () => {
    const dir = path.join(await tempDir('peers-'), 'peers')
    const first = await store(dir)
    const second = new PeerStore({ dir, ttlMs: DAY, maxEntries: 10, logger: silentLogger })
    await assert.rejects(second.open(), { code: 'OVL_PEER_CACHE_LOCKED', message: /is in use by another process/ })
    await first.close()
  })
})
