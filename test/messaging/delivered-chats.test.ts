/**
 * The window of delivered CHAT ids (a ring and an open-addressing hash set in
 * typed arrays) against the obvious model: a list of the last N distinct ids.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RecentIds } from '../../src/messaging/delivered-chats.js'

/** The last `capacity` distinct ids added, in order; adding one already held changes nothing. */
class Model {
  readonly ids: number[] = []
  readonly held = new Set<number>()
  constructor(readonly capacity: number) {}
  add(id: number): void {
    if (id === 0 || this.held.has(id)) return
    this.ids.push(id)
    this.held.add(id)
    if (this.ids.length > this.capacity) this.held.delete(this.ids.shift() as number)
  }
}

/** xorshift32: the same sequence on every run, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

describe('the window of delivered CHAT ids', () => {
  for (const capacity of [1, 2, 7, 64, 65, 100, 2_048]) {
    it(`holds exactly the last ${capacity} distinct ids, whatever the order and repeats`, () => {
      const next = random(capacity * 7919 + 1)
      const window = new RecentIds(capacity)
      const model = new Model(capacity)
      // Ids from a narrow range (many repeats) and from the whole u32 range, with its ends.
      const pick = (): number => {
        const r = next() % 4
        if (r === 0) return next() % (3 * capacity + 2)
        if (r === 1) return [0, 1, 0xffff_ffff, 0x8000_0000][next() % 4] as number
        return next()
      }
      const probes = new Set<number>()
      for (let step = 0; step < 20 * capacity + 200; step++) {
        const id = pick()
        probes.add(id)
        window.add(id)
        model.add(id)
        if (step % Math.max(1, capacity >> 2) !== 0) continue
        assert.equal(window.size, model.ids.length, `size after step ${step}`)
        for (const probe of probes) assert.equal(window.has(probe), model.held.has(probe), `has(${probe}) after step ${step}`)
      }
      for (const probe of probes) assert.equal(window.has(probe), model.held.has(probe), `has(${probe}) at the end`)
    })
  }

  it('never holds 0 (no ACK wanted, never sent again)', () => {
    const window = new RecentIds(4)
    window.add(0)
    assert.equal(window.has(0), false)
    assert.equal(window.size, 0)
  })

  it('ids in one long run of slots (consecutive ids, a full window evicting) are all found, and only they', () => {
    const window = new RecentIds(2_048)
    for (let id = 1; id <= 10_000; id++) window.add(id)
    for (let id = 1; id <= 10_000; id++) assert.equal(window.has(id), id > 10_000 - 2_048, `id ${id}`)
  })
})
