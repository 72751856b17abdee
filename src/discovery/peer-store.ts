/**
 * The peer cache: every peer ever verified, in LevelDB in the node's data
 * directory, with when it was last seen and how dials to it went. A restarted
 * node dials from here first, so it finds its network even when the bootstrap
 * nodes are gone.
 *
 * A corrupt database is moved aside (peers.db.corrupt-<time>) and rebuilt: the
 * cache is an optimisation, never a reason not to start. A database locked by
 * another process is a clear error (two nodes on one data directory).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { Level } from 'level'
import { ConfigError } from '../errors.js'
import type { NodeId } from '../identity/node-id.js'
import type { Logger } from '../log/logger.js'
import { decodeRecord, encodeRecord, verifyRecord, type PeerRecord } from '../messaging/peer-record.js'

/** lastSeen moves in memory on every sign of life; it is written to disk when it moved this much. */
const SEEN_PERSIST_MS = 60_000

export interface PeerEntry {
  record: PeerRecord
  firstSeen: number
  /** Last time we had a session with it, or heard a fresh record. */
  lastSeen: number
  lastConnected: number | null
  dialSuccesses: number
  dialFailures: number
  lastError: string | null
  /** It said LEAVE: dialed last until it comes back. */
  leftAt: number | null
}

interface StoredEntry extends Omit<PeerEntry, 'record'> {
  record: string
}

export interface PeerStoreOptions {
  /** LevelDB directory; null keeps the cache in memory only (tests, throwaway nodes). */
  dir: string | null
  /** Entries not seen for this long are dropped (ms). */
  ttlMs: number
  /** At most this many entries; the least recently seen go first. */
  maxEntries: number
  logger: Logger
  now?: () => number
}

export class PeerStore {
  readonly #options: PeerStoreOptions
  readonly #now: () => number
  readonly #entries = new Map<NodeId, PeerEntry>()
  #db: Level<string, string> | null = null
  #writes: Promise<unknown> = Promise.resolve()

  constructor(options: PeerStoreOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  get size(): number {
    return this.#entries.size
  }

  /** Opens (or rebuilds) the database and loads every fresh, valid entry. */
  async open(): Promise<{ loaded: number; expired: number; invalid: number; rebuiltFrom: string | null }> {
    const dir = this.#options.dir
    if (dir === null) return { loaded: 0, expired: 0, invalid: 0, rebuiltFrom: null }
    try {
      this.#db = await openLevel(dir)
      return { ...(await this.#load(this.#db)), rebuiltFrom: null }
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string }; code?: string }).cause ?? (err as { code?: string; message?: string })
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new ConfigError('OVL_PEER_CACHE_LOCKED', `${dir} is in use by another process: is another node running with the same data directory?`, { cause: err })
      }
      if (cause?.code !== 'LEVEL_CORRUPTION' && cause?.code !== 'LEVEL_IO_ERROR') throw err
      // The cache is an optimisation: never a reason not to start, nor a crash loop.
      await this.#db?.close().catch(() => {})
      this.#entries.clear()
      const rebuiltFrom = `${dir}.corrupt-${new Date(this.#now()).toISOString().replace(/[:.]/g, '-')}`
      await fs.rename(dir, rebuiltFrom)
      this.#options.logger.warn({ movedTo: rebuiltFrom, reason: cause.message }, 'peer cache was corrupt: moved it aside and started a new one')
      this.#db = await openLevel(dir)
      return { loaded: 0, expired: 0, invalid: 0, rebuiltFrom }
    }
  }

  async #load(db: Level<string, string>): Promise<{ loaded: number; expired: number; invalid: number }> {
    let expired = 0
    let invalid = 0
    const stale: string[] = []
    const cutoff = this.#now() - this.#options.ttlMs
    for await (const [key, value] of db.iterator()) {
      const entry = parseEntry(value)
      if (entry === null || entry.record.nodeId !== key) {
        invalid++
        stale.push(key)
      } else if (entry.lastSeen < cutoff) {
        expired++
        stale.push(key)
      } else {
        this.#entries.set(key, entry)
      }
    }
    if (stale.length > 0) await db.batch(stale.map((key) => ({ type: 'del' as const, key })))
    this.#trim()
    return { loaded: this.#entries.size, expired, invalid }
  }

  async close(): Promise<void> {
    await this.#writes
    await this.#db?.close()
    this.#db = null
  }

  get(id: NodeId): PeerEntry | undefined {
    return this.#entries.get(id)
  }

  entries(): PeerEntry[] {
    return [...this.#entries.values()]
  }

  /** Most recently seen first; peers that left go last. */
  dialOrder(): PeerEntry[] {
    return this.entries().sort((a, b) => Number(a.leftAt !== null) - Number(b.leftAt !== null) || b.lastSeen - a.lastSeen)
  }

  /** Stores a verified record if it is newer than what we have. Returns true if it was new or newer. */
  putRecord(record: PeerRecord): boolean {
    const existing = this.#entries.get(record.nodeId)
    if (existing && existing.record.seq >= record.seq) return false
    if (!verifyRecord(record)) return false
    const now = this.#now()
    // A newer record from a node that left means it is back.
    const entry: PeerEntry = existing
      ? { ...existing, record, lastSeen: Math.max(existing.lastSeen, now), leftAt: null }
      : { record, firstSeen: now, lastSeen: now, lastConnected: null, dialSuccesses: 0, dialFailures: 0, lastError: null, leftAt: null }
    this.#set(entry)
    return true
  }

  connected(id: NodeId): void {
    this.#update(id, (e) => ({ ...e, lastSeen: this.#now(), lastConnected: this.#now(), dialSuccesses: e.dialSuccesses + 1, lastError: null, leftAt: null }))
  }

  /** Heard of it (a message it signed, a session): written to disk at most once a minute per peer. */
  seen(id: NodeId): void {
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    const now = this.#now()
    if (now - entry.lastSeen < SEEN_PERSIST_MS) entry.lastSeen = now
    else this.#set({ ...entry, lastSeen: now })
  }

  /** Drops entries not seen within the TTL; returns how many went. */
  expire(): number {
    const cutoff = this.#now() - this.#options.ttlMs
    let dropped = 0
    for (const entry of this.entries()) {
      if (entry.lastSeen >= cutoff) continue
      this.#entries.delete(entry.record.nodeId)
      this.#delete(entry.record.nodeId)
      dropped++
    }
    return dropped
  }

  dialFailed(id: NodeId, error: string): void {
    this.#update(id, (e) => ({ ...e, dialFailures: e.dialFailures + 1, lastError: error }))
  }

  left(id: NodeId): void {
    this.#update(id, (e) => ({ ...e, leftAt: this.#now() }))
  }

  #update(id: NodeId, change: (entry: PeerEntry) => PeerEntry): void {
    const entry = this.#entries.get(id)
    if (entry) this.#set(change(entry))
  }

  #set(entry: PeerEntry): void {
    this.#entries.set(entry.record.nodeId, entry)
    this.#trim()
    const db = this.#db
    if (db === null || !this.#entries.has(entry.record.nodeId)) return
    const stored: StoredEntry = { ...entry, record: encodeRecord(entry.record).toString('base64') }
    // Writes are chained so they land in order; a failed write is logged, never fatal.
    this.#writes = this.#writes
      .then(() => db.put(entry.record.nodeId, JSON.stringify(stored)))
      .catch((err: Error) => this.#options.logger.warn({ err: err.message }, 'peer cache write failed'))
  }

  #trim(): void {
    if (this.#entries.size <= this.#options.maxEntries) return
    const oldest = [...this.#entries.values()].sort((a, b) => a.lastSeen - b.lastSeen)
    for (const entry of oldest.slice(0, this.#entries.size - this.#options.maxEntries)) {
      this.#entries.delete(entry.record.nodeId)
      this.#delete(entry.record.nodeId)
    }
  }

  #delete(id: NodeId): void {
    const db = this.#db
    if (db) this.#writes = this.#writes.then(() => db.del(id)).catch(() => {})
  }
}

async function openLevel(dir: string): Promise<Level<string, string>> {
  await fs.mkdir(path.dirname(dir), { recursive: true })
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
  await db.open()
  return db
}

function parseEntry(value: string): PeerEntry | null {
  try {
    const stored = JSON.parse(value) as StoredEntry
    const record = decodeRecord(Buffer.from(stored.record, 'base64'))
    if (!verifyRecord(record) || typeof stored.lastSeen !== 'number' || typeof stored.firstSeen !== 'number') return null
    return {
      record,
      firstSeen: stored.firstSeen,
      lastSeen: stored.lastSeen,
      lastConnected: typeof stored.lastConnected === 'number' ? stored.lastConnected : null,
      dialSuccesses: Number(stored.dialSuccesses) || 0,
      dialFailures: Number(stored.dialFailures) || 0,
      lastError: typeof stored.lastError === 'string' ? stored.lastError : null,
      leftAt: typeof stored.leftAt === 'number' ? stored.leftAt : null,
    }
  } catch {
    return null
  }
}
