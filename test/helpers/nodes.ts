/** Starts real nodes on loopback (port 0) and stops every one of them after the test. */
import type { TestContext } from 'node:test'
import type { NetworkCa } from '../../src/session/pki/ca.js'
import { OverlayNode, type OverlayNodeInit } from '../../src/node/node.js'
import { testCredentials, type TestCredentials } from './pki.js'
import { MessageType, type Message } from '../../src/messaging/messages.js'

/** Sessions also carry HELLO, PING, PEERS...: tests that talk CHAT wait for CHAT. */
export function isChat(message: Message): boolean {
  return message.type === MessageType.Chat
}

export async function startNode(t: TestContext, init: Omit<OverlayNodeInit, 'identity' | 'credentials'> & Partial<TestCredentials> & { ca?: NetworkCa; name?: string }): Promise<OverlayNode> {
  let creds: TestCredentials
  if (init.identity && init.credentials) creds = { identity: init.identity, credentials: init.credentials }
  else if (init.ca) creds = testCredentials(init.ca, init.name ?? 'node')
  else throw new Error('startNode needs a CA or credentials')
  const node = new OverlayNode({ host: '127.0.0.1', ...init, ...creds })
  await node.start()
  t.after(() => node.stop())
  return node
}
