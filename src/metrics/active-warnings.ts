/**
 * The warnings this node has raised and not yet cleared. Each evaluation
 * hands over every reading that is over its threshold: a reading without an
 * active warning raises one, an active warning without a reading clears.
 */
import type { NodeId } from '../identity/node-id.js'
import { describeReading, warningKey, type Reading, type Warning } from './warning.js'

export interface WarningChanges {
  raised: Warning[]
  cleared: Warning[]
}

export interface ActiveWarningsInit {
  origin: NodeId
  originName: string
  /** A peer's name for the text, when known. */
  nameOf: (id: NodeId) => string | null
  /** Wall clock (ms since the epoch). */
  now?: () => number
}

export class ActiveWarnings {
  readonly #init: ActiveWarningsInit
  readonly #now: () => number
  readonly #active = new Map<string, Warning>()

  constructor(init: ActiveWarningsInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  update(readings: Reading[]): WarningChanges {
    const changes: WarningChanges = { raised: [], cleared: [] }
    const seen = new Set<string>()
    for (const reading of readings) {
      const key = warningKey(this.#init.origin, reading.metric, reading.subject)
      seen.add(key)
      const active = this.#active.get(key)
      if (active) {
        // Still over: the figures move, the warning stays (no second "raised").
        active.value = reading.value
        active.text = describeReading(reading, active.subjectName)
        continue
      }
      const warning = this.#warning(key, reading)
      this.#active.set(key, warning)
      changes.raised.push(warning)
    }
    for (const [key, warning] of this.#active) {
      if (seen.has(key)) continue
      this.#active.delete(key)
      changes.cleared.push(warning)
    }
    return changes
  }

  list(): Warning[] {
    return [...this.#active.values()]
  }

  #warning(key: string, reading: Reading): Warning {
    const subjectName = reading.subject === null ? null : this.#init.nameOf(reading.subject)
    return {
      ...reading,
      key,
      origin: this.#init.origin,
      originName: this.#init.originName,
      subjectName,
      local: true,
      since: this.#now(),
      text: describeReading(reading, subjectName),
    }
  }
}
