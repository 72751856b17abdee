import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { isNodeId } from '../../src/identity/node-id.js'
import { runCli, REPO_ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/pki.js'

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777

describe('overlay identity / ca / cert', () => {
  it('creates an identity 0600 and prints its node id', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'id.key')
    const result = await runCli(['identity', 'create', '--out', file, '--json'])
    assert.equal(result.code, 0, result.stderr)
    const line = JSON.parse(result.stdout) as { type: string; nodeId: string }
    assert.equal(line.type, 'result')
    assert.ok(isNodeId(line.nodeId))
    assert.equal(await mode(file), 0o600)
    const show = await runCli(['identity', 'show', file])
    assert.equal(show.stdout.trim(), line.nodeId)
    const again = await runCli(['identity', 'create', '--out', file])
    assert.equal(again.code, 2, 'refuses to overwrite an identity')
    assert.match(again.stderr, /OVL_FILE_EXISTS/)
  })

  it('with --json, a usage error is a JSON error line too', async () => {
    const result = await runCli(['ca', 'create', '--json'])
    assert.equal(result.code, 2)
    assert.deepEqual(JSON.parse(result.stdout), { type: 'error', code: 'OVL_USAGE', message: "required option '--out <dir>' not specified" })
    assert.equal(result.stderr, '')
  })

  it('names a file it cannot write, with the reason, and leaves no copy of the secret behind', async () => {
    const dir = await tempDir()
    const target = path.join(dir, 'keys') // a directory in the way
    await fs.mkdir(target)
    const result = await runCli(['identity', 'create', '--out', target, '--force'])
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /OVL_FILE_UNWRITABLE/)
    assert.ok(result.stderr.includes(target), result.stderr)
    assert.deepEqual(await fs.readdir(dir), ['keys'], 'no temporary file holding the key')
  })

  it('creates a CA, refuses to overwrite it, issues and inspects a node certificate', async () => {
    const dir = await tempDir()
    const caDir = path.join(dir, 'ca')
    const created = await runCli(['ca', 'create', '--out', caDir, '--name', 'Lab CA', '--days', '30', '--json'])
    assert.equal(created.code, 0, created.stderr)
    assert.equal(await mode(path.join(caDir, 'ca.key')), 0o600)
    const ca = new crypto.X509Certificate(await fs.readFile(path.join(caDir, 'ca.crt')))
    assert.ok(ca.ca)
    assert.equal(ca.subject, 'CN=Lab CA')

    const overwrite = await runCli(['ca', 'create', '--out', caDir])
    assert.equal(overwrite.code, 2)
    assert.match(overwrite.stderr, /OVL_FILE_EXISTS/)
    const forced = await runCli(['ca', 'create', '--out', caDir, '--force'])
    assert.equal(forced.code, 0, 'replaces the CA when told to')

    const idFile = path.join(dir, 'alpha.key')
    const id = JSON.parse((await runCli(['identity', 'create', '--out', idFile, '--json'])).stdout) as { nodeId: string }
    const certDir = path.join(dir, 'alpha')
    const issued = await runCli(['cert', 'issue', '--ca', caDir, '--identity', idFile, '--name', 'alpha', '--days', '10', '--out', certDir, '--json'])
    assert.equal(issued.code, 0, issued.stderr)
    assert.equal(await mode(path.join(certDir, 'node.key')), 0o600)

    const inspect = await runCli(['cert', 'inspect', path.join(certDir, 'node.crt'), '--ca', caDir, '--json'])
    assert.equal(inspect.code, 0, inspect.stderr)
    const report = JSON.parse(inspect.stdout) as Record<string, unknown>
    assert.equal(report.nodeId, id.nodeId)
    assert.equal(report.name, 'alpha')
    assert.equal(report.validity, 'valid')
    assert.deepEqual(report.verification, { ca: path.join(caDir, 'ca.crt'), verified: true })
    assert.match(String(report.fingerprintSha256), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)

    const otherCa = path.join(dir, 'other')
    await runCli(['ca', 'create', '--out', otherCa])
    const wrong = await runCli(['cert', 'inspect', path.join(certDir, 'node.crt'), '--ca', otherCa, '--json'])
    assert.equal(wrong.code, 1, 'a certificate that does not verify exits 1')
    assert.equal((JSON.parse(wrong.stdout) as { verification: { verified: boolean } }).verification.verified, false)
  })

  it('issues from a node id alone, so the identity key can stay on its machine', async () => {
    const dir = await tempDir()
    await runCli(['ca', 'create', '--out', path.join(dir, 'ca')])
    const id = JSON.parse((await runCli(['identity', 'create', '--out', path.join(dir, 'id.key'), '--json'])).stdout) as { nodeId: string }
    const issued = await runCli(['cert', 'issue', '--ca', path.join(dir, 'ca'), '--node-id', id.nodeId, '--name', 'far', '--out', path.join(dir, 'far'), '--json'])
    assert.equal(issued.code, 0, issued.stderr)
    assert.equal((JSON.parse(issued.stdout) as { nodeId: string }).nodeId, id.nodeId)
    const both = await runCli(['cert', 'issue', '--ca', path.join(dir, 'ca'), '--name', 'x', '--out', path.join(dir, 'x')])
    assert.equal(both.code, 2, 'needs --identity or --node-id')
  })

  it('certs/ scripts set up a network and add a node', async () => {
    const dir = await tempDir()
    const run = (cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> =>
      import('node:child_process').then(
        ({ spawn }) =>
          new Promise((resolve) => {
            const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env } })
            let out = ''
            child.stdout.on('data', (d: Buffer) => (out += d.toString()))
            child.stderr.on('data', (d: Buffer) => (out += d.toString()))
            child.on('close', (code) => resolve({ code, out }))
          }),
      )
    // The scripts call bin/overlay.js, which needs the build.
    await fs.access(path.join(REPO_ROOT, 'dist/cli/main.js'))
    const net = await run('bash', ['certs/create-network.sh', path.join(dir, 'ca'), 'Script Net'])
    assert.equal(net.code, 0, net.out)
    const node = await run('bash', ['certs/add-node.sh', 'beta', path.join(dir, 'ca'), path.join(dir, 'beta')])
    assert.equal(node.code, 0, node.out)
    for (const file of ['identity.key', 'node.key']) assert.equal(await mode(path.join(dir, 'beta', file)), 0o600)
    const cert = new crypto.X509Certificate(await fs.readFile(path.join(dir, 'beta', 'node.crt')))
    assert.equal(cert.subject, 'CN=beta')
    assert.ok(cert.verify(new crypto.X509Certificate(await fs.readFile(path.join(dir, 'ca', 'ca.crt'))).publicKey))

    // Run twice: it says how to issue again, and FORCE=1 does, keeping the identity.
    const identity = await fs.readFile(path.join(dir, 'beta', 'identity.key'))
    const again = await run('bash', ['certs/add-node.sh', 'beta', path.join(dir, 'ca'), path.join(dir, 'beta')])
    assert.equal(again.code, 2, again.out)
    assert.match(again.out, /FORCE=1/)
    const forced = await run('bash', ['certs/add-node.sh', 'beta', path.join(dir, 'ca'), path.join(dir, 'beta')], { FORCE: '1' })
    assert.equal(forced.code, 0, forced.out)
    assert.deepEqual(await fs.readFile(path.join(dir, 'beta', 'identity.key')), identity)

    // A relative OUT_DIR: the config it prints names absolute paths (config paths resolve from the config's directory).
    const relative = await run('bash', ['certs/add-node.sh', 'gamma', path.join(dir, 'ca'), path.relative(REPO_ROOT, path.join(dir, 'gamma'))])
    assert.equal(relative.code, 0, relative.out)
    assert.ok(relative.out.includes(`identity: ${path.join(dir, 'gamma', 'identity.key')}`), relative.out)
  })
})
