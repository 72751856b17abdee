/**
 * The measurements, written once against the Contender/Link interfaces: the
 * overlay and the baseline run through the same loops. The loops are
 * callback-driven (no promise per message) so the harness adds as little as
 * possible to what is measured.
 */
import { performance } from 'node:perf_hooks'
import type { Contender, Link } from './link.js'
import { deferred, within } from './wait.js'

/** A send loop that never sees backpressure yields after this much, so it cannot buffer without bound. */
const YIELD_EVERY_BYTES = 4 * 2 ** 20

/** Generous: a measurement that takes this long is broken, not slow. */
function deadlineMs(expectedWork: number): number {
  return 60_000 + expectedWork
}

/** Milliseconds from dial to an authenticated link, `count` sequential dials (each link closed before the next). */
export async function measureSetup(contender: Contender, count: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const link = await within(30_000, contender.dial(), `${contender.label}: dial ${i + 1}`)
    samples.push(performance.now() - started)
    await link.close()
  }
  return samples
}

/**
 * Round trips of one `bytes`-byte payload, one in flight, after `warmup` ones
 * that are not recorded. Returns microseconds.
 */
export async function measureEcho(contender: Contender, bytes: number, warmup: number, count: number): Promise<number[]> {
  const link = await contender.dial()
  try {
    return await echoOn(link, contender.payload(bytes), bytes, warmup, count, contender.label)
  } finally {
    await link.close()
  }
}

export async function echoOn(link: Link, payload: unknown, bytes: number, warmup: number, count: number, label: string): Promise<number[]> {
  const samples = new Array<number>(count)
  const done = deferred()
  let received = 0
  let index = -warmup
  let sentAt = 0
  link.echo = true
  link.onClientReceive = (n) => {
    received += n
    if (received < bytes) return
    const now = performance.now()
    if (received > bytes) return done.reject(new Error(`${label}: echo returned ${received} bytes for a ${bytes}-byte payload`))
    received = 0
    if (index >= 0) samples[index] = (now - sentAt) * 1000
    index++
    if (index === count) return done.resolve()
    sentAt = performance.now()
    link.send(payload)
  }
  try {
    sentAt = performance.now()
    link.send(payload)
    await within(deadlineMs(count / 10), done.promise, `${label}: ${warmup + count} echo round trips`)
    return samples
  } finally {
    link.onClientReceive = null
    link.echo = false
  }
}

export interface StreamResult {
  payloads: number
  bytes: number
  seconds: number
  payloadsPerSecond: number
  megabytesPerSecond: number
}

/**
 * Sends `count` payloads of `bytes` one way as fast as backpressure allows and
 * times until the receiver has counted them all. A warm-up of `warmupCount`
 * payloads on the same link comes first.
 */
export async function measureStream(contender: Contender, bytes: number, count: number, warmupCount: number): Promise<StreamResult> {
  const link = await contender.dial()
  try {
    const payload = contender.payload(bytes)
    if (warmupCount > 0) await streamOn(link, payload, bytes, warmupCount, contender.label)
    return await streamOn(link, payload, bytes, count, contender.label)
  } finally {
    await link.close()
  }
}

export async function streamOn(link: Link, payload: unknown, bytes: number, count: number, label: string): Promise<StreamResult> {
  const total = bytes * count
  const done = deferred<number>()
  let received = 0
  link.onServerReceive = (n) => {
    received += n
    if (received >= total) done.resolve(performance.now())
  }
  const started = performance.now()
  const sending = (async () => {
    let sinceYield = 0
    for (let sent = 0; sent < count; sent++) {
      sinceYield += bytes
      if (!link.send(payload)) {
        sinceYield = 0
        await link.drained()
      } else if (sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  })()
  sending.catch((err: Error) => done.reject(err))
  try {
    const finished = await within(deadlineMs(total / 1e4), done.promise, `${label}: ${count} payloads of ${bytes} bytes to arrive`)
    await sending
    if (received !== total) throw new Error(`${label}: received ${received} bytes, sent ${total}`)
    const seconds = (finished - started) / 1000
    return { payloads: count, bytes: total, seconds, payloadsPerSecond: count / seconds, megabytesPerSecond: total / 1e6 / seconds }
  } finally {
    link.onServerReceive = null
  }
}
