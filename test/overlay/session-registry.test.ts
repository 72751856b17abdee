/**
 * The duplicate tie-break on its own: both ends of a pair, each with its own
 * registry, keep the same session of two (both up) without a word between
 * them. Sessions here are stand-ins with the five things the registry reads.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { NodeId } from '../../src/identity/node-id.js'
import { SessionRegistry } from '../../src/node/session-registry.js'
import type { Session } from '../../src/session/session.js'

type Stub = Session<never>

const A = 'a'.repeat(52) as NodeId
const B = 'b'.repeat(52) as NodeId

/** One session as each end sees it: same id, roles swapped, each end's peer the other. */
function pair(id: string, client: NodeId, relayed = false): { atA: Stub; atB: Stub; relayed: boolean } {
  const at = (self: NodeId, peer: NodeId): Stub => ({ id, peerId: peer, role: self === client ? 'client' : 'server', writable: true, state: 'up' }) as unknown as Stub
  return { atA: at(A, B), atB: at(B, A), relayed }
}

function registries(relayed: Set<string>): { atA: SessionRegistry<never>; atB: SessionRegistry<never> } {
  const isRelayed = (session: Stub): boolean => relayed.has(session.id)
  return { atA: new SessionRegistry(A, isRelayed), atB: new SessionRegistry(B, isRelayed) }
}

/** Adds the sessions in the given order at A and in the reverse order at B; returns the ids each end kept. */
function race(sessions: ReturnType<typeof pair>[]): [string | undefined, string | undefined] {
  const { atA, atB } = registries(new Set(sessions.filter((s) => s.relayed).map((s) => s.atA.id)))
  for (const s of sessions) atA.add(s.atA)
  for (const s of [...sessions].reverse()) atB.add(s.atB)
  return [atA.get(B)?.id, atB.get(A)?.id]
}

describe('the duplicate tie-break (session registry)', () => {
  it('keeps the session whose TLS client has the lower node id, at both ends, whatever came up first', () => {
    assert.deepEqual(race([pair('s1', B), pair('s2', A)]), ['s2', 's2'])
    assert.deepEqual(race([pair('s2', A), pair('s1', B)]), ['s2', 's2'])
  })

  it('between two sessions with the same client, the lower session id', () => {
    assert.deepEqual(race([pair('s9', A), pair('s3', A)]), ['s3', 's3'])
  })

  it('a direct session before a relayed one, whoever dialed', () => {
    assert.deepEqual(race([pair('s1', A, true), pair('s2', B)]), ['s2', 's2'])
  })

  it('says which session the caller closes', () => {
    const { atA } = registries(new Set())
    const first = pair('s1', B).atA
    const second = pair('s2', A).atA
    assert.deepEqual(atA.add(first), { kept: first, loser: null })
    assert.deepEqual(atA.add(second), { kept: second, loser: first })
    const third = pair('s3', B).atA
    assert.deepEqual(atA.add(third), { kept: second, loser: third })
  })

  it('a session that is closing is replaced, not ranked: it will not carry anything', () => {
    const { atA } = registries(new Set())
    const closing = { ...pair('s1', A).atA, writable: false } as Stub
    atA.add(closing)
    const next = pair('s2', B).atA
    assert.deepEqual(atA.add(next), { kept: next, loser: null })
    assert.equal(atA.delete(closing), false, 'the closing session is no longer the one for its peer')
    assert.equal(atA.get(B), next)
  })
})
