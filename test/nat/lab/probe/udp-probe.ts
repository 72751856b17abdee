/**
 * A tiny UDP (and TCP) helper program run inside a lab namespace:
 *   ip netns exec NS node --import tsx test/nat/lab/probe/udp-probe.ts
 * Driven over stdin/stdout with JSON lines (protocol.ts); exits when stdin closes.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import readline from 'node:readline'
import { MAX_SEND_COUNT, type ProbeCommand, type ProbeEvent } from './protocol.js'

const sockets = new Map<number, dgram.Socket>()
const servers: net.Server[] = []
let nextSocket = 0

function emit(event: ProbeEvent): void {
  process.stdout.write(JSON.stringify(event) + '\n')
}

function bind(port: number): Promise<{ socket: number; port: number }> {
  const socket = dgram.createSocket('udp4')
  const id = nextSocket++
  socket.on('message', (data, from) => emit({ type: 'message', socket: id, from: { host: from.address, port: from.port }, data: data.toString() }))
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, () => {
      socket.off('error', reject)
      socket.on('error', (error) => console.error(`udp-probe: socket ${id}: ${error.message}`))
      sockets.set(id, socket)
      resolve({ socket: id, port: socket.address().port })
    })
  })
}

async function send(command: Extract<ProbeCommand, { op: 'send' }>): Promise<void> {
  const socket = sockets.get(command.socket)
  if (!socket) throw new Error(`no socket ${command.socket}`)
  const count = command.count ?? 1
  if (!Number.isInteger(count) || count < 1 || count > MAX_SEND_COUNT) throw new Error(`count must be 1..${MAX_SEND_COUNT}`)
  for (let i = 0; i < count; i++) {
    if (i > 0 && command.intervalMs) await new Promise((resolve) => setTimeout(resolve, command.intervalMs))
    await new Promise<void>((resolve, reject) => socket.send(command.data, command.to.port, command.to.host, (error) => (error ? reject(error) : resolve())))
  }
}

function tcpListen(): Promise<number> {
  const server = net.createServer((connection) => {
    emit({ type: 'tcp-accept', port: (server.address() as net.AddressInfo).port, from: { host: connection.remoteAddress ?? '', port: connection.remotePort ?? 0 } })
    connection.end()
  })
  servers.push(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '0.0.0.0', () => resolve((server.address() as net.AddressInfo).port))
  })
}

function tcpConnect(command: Extract<ProbeCommand, { op: 'tcp-connect' }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = net.connect({ host: command.to.host, port: command.to.port, timeout: command.timeoutMs })
    connection.once('connect', () => {
      connection.destroy()
      resolve()
    })
    connection.once('timeout', () => {
      connection.destroy()
      reject(new Error(`tcp connect timed out after ${command.timeoutMs} ms`))
    })
    connection.once('error', reject)
  })
}

async function handle(command: ProbeCommand): Promise<void> {
  try {
    switch (command.op) {
      case 'bind':
        emit({ type: 'result', id: command.id, ok: true, ...(await bind(command.port ?? 0)) })
        return
      case 'send':
        await send(command)
        break
      case 'close':
        sockets.get(command.socket)?.close()
        sockets.delete(command.socket)
        break
      case 'tcp-listen':
        emit({ type: 'result', id: command.id, ok: true, port: await tcpListen() })
        return
      case 'tcp-connect':
        await tcpConnect(command)
        break
      default:
        throw new Error(`unknown op ${(command as { op: unknown }).op}`)
    }
    emit({ type: 'result', id: command.id, ok: true })
  } catch (error) {
    emit({ type: 'result', id: command.id, ok: false, error: (error as Error).message })
  }
}

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === '') return
  let command: ProbeCommand
  try {
    command = JSON.parse(line) as ProbeCommand
  } catch {
    console.error(`udp-probe: not JSON: ${line}`)
    return
  }
  void handle(command)
})
lines.on('close', () => process.exit(0))
emit({ type: 'ready' })
