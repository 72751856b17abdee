/**
 * Reading a JSON request body with a size limit checked before buffering: a
 * declared length over the limit is refused at once, and a body that grows
 * past it while arriving is cut off.
 */
import type { IncomingMessage } from 'node:http'
import { DashboardError } from '../errors.js'

export class BodyError extends DashboardError {
  readonly status: number

  constructor(status: number, message: string) {
    super('OVL_DASHBOARD_REQUEST_INVALID', message)
    this.status = status
  }
}

export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') throw new BodyError(415, 'expected a body of type application/json')
  const declared = Number(req.headers['content-length'] ?? Number.NaN)
  if (declared > maxBytes) throw new BodyError(413, `the body is ${declared} bytes; at most ${maxBytes} are accepted`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw new BodyError(413, `the body is over ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch {
    throw new BodyError(400, 'the body is not valid JSON')
  }
}
