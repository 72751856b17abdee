/**
 * An OverlayNode in a process of its own, for the sections that kill one:
 * SIGKILL says nothing on the wire (the kernel just closes the socket), which
 * node.abort() in-process cannot imitate (UDX tells the peer its streams are
 * gone). Prints one JSON line per event on stdout; stops gracefully when its
 * stdin ends.
 *
 *   node --import tsx bench/node-child.ts <credentials dir> '<options as JSON>'
 *
 * options: { dataDir?, bootstrap?: ["host:port"], connect?: ["host:port"], peers?: { target?: number } }
 * lines:   {"type":"ready","address":"127.0.0.1:port","nodeId":...}, {"type":"peer:up","id":...}, {"type":"peer:down","id":...,"reason":...}
 */
import { parseHostPort } from '../src/config/load.js'
import { OverlayNode } from '../src/node/node.js'
import { loadNodeCredentials } from './overlay-net.js'

interface ChildOptions {
  dataDir?: string
  bootstrap?: string[]
  connect?: string[]
  peers?: { target?: number }
}

const [dir, json] = process.argv.slice(2)
if (!dir) throw new Error('usage: node-child.ts <credentials dir> [options as JSON]')
const options = JSON.parse(json ?? '{}') as ChildOptions
const creds = await loadNodeCredentials(dir)
const node = new OverlayNode({
  host: '127.0.0.1',
  identity: creds.identity,
  credentials: creds.credentials,
  dataDir: options.dataDir ?? null,
  bootstrap: (options.bootstrap ?? []).map(parseHostPort),
  ...(options.peers ? { peers: options.peers } : {}),
})
const say = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`)
node.on('peer:up', (session) => say({ type: 'peer:up', id: session.peerId }))
node.on('peer:down', (session, error) => say({ type: 'peer:down', id: session.peerId, reason: error?.code ?? 'closed' }))
await node.start()
say({ type: 'ready', address: `${node.address.host}:${node.address.port}`, nodeId: node.nodeId })
for (const address of options.connect ?? []) await node.connect(parseHostPort(address))
process.stdin.resume()
process.stdin.once('end', () => void node.stop().then(() => process.exit(0)))
