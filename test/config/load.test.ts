import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import { loadConfig } from '../../src/config/load.js'
import { REPO_ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/pki.js'

async function writeConfig(text: string): Promise<string> {
  const file = path.join(await tempDir(), 'node.yaml')
  await fs.writeFile(file, text)
  return file
}

async function configError(file: string | null, overrides: Parameters<typeof loadConfig>[1] = []): Promise<{ code: string; message: string }> {
  try {
    await loadConfig(file, overrides)
  } catch (err) {
    return err as { code: string; message: string }
  }
  throw new Error('expected the config to be refused')
}

describe('config', () => {
  it('runs on defaults with no file', async () => {
    const config = await loadConfig(null, [], '/srv/overlay')
    assert.equal(config.listen.port, 9000)
    assert.equal(config.name, 'node-9000')
    assert.equal(config.dataDir, '/srv/overlay/data/node-9000')
    assert.equal(config.identity, '/srv/overlay/data/node-9000/identity.key')
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.limits), 'validated once, then frozen')
  })

  it('names the file, key, value and expectation of a bad value', async () => {
    const file = await writeConfig('listen:\n  port: "nine thousand"\n')
    const err = await configError(file)
    assert.equal(err.code, 'OVL_CONFIG_INVALID')
    assert.ok(err.message.includes(file), err.message)
    assert.ok(err.message.includes('listen.port'), err.message)
    assert.ok(err.message.includes('"nine thousand"'), err.message)
    assert.ok(err.message.includes('expected a port number'), err.message)
  })

  it('refuses unknown keys, listing the known ones', async () => {
    const file = await writeConfig('heartbeat:\n  intervalMS: 500\n')
    const err = await configError(file)
    assert.equal(err.code, 'OVL_CONFIG_INVALID')
    assert.match(err.message, /unknown key "heartbeat.intervalMS": expected one of intervalMs, timeoutMs/)
  })

  it('reports every problem at once, with list indexes', async () => {
    const file = await writeConfig('bootstrap: ["localhost:0", "ok.example:9000"]\nrevoked: [abc]\nlimits:\n  maxFrameBytes: 10\n')
    const err = await configError(file)
    assert.match(err.message, /key "bootstrap\[0\]" = "localhost:0": expected HOST:PORT/)
    assert.match(err.message, /key "revoked\[0\]" = "abc": expected a node id/)
    assert.match(err.message, /key "limits.maxFrameBytes" = 10: expected at least 1024/)
  })

  it('flags override the file and are named when wrong', async () => {
    const file = await writeConfig('name: alpha\nlisten:\n  port: 9100\n')
    const config = await loadConfig(file, [{ key: 'listen.port', value: 9200, flag: '--port' }])
    assert.equal(config.listen.port, 9200)
    assert.equal(config.name, 'alpha')
    const err = await configError(file, [{ key: 'listen.port', value: 70000, flag: '--port' }])
    assert.match(err.message, /^command line --port: key "listen.port" = 70000/)
    // A flag that sets a whole list is named for a bad entry in it, not the file.
    const listed = await writeConfig('bootstrap: ["127.0.0.1:9000"]\n')
    const bad = await configError(listed, [{ key: 'bootstrap', value: ['10.0.0.1'], flag: '--bootstrap' }])
    assert.match(bad.message, /^command line --bootstrap: key "bootstrap\[0\]" = "10.0.0.1"/)
  })

  it('resolves relative paths against the file, flag paths against the working directory', async () => {
    const file = await writeConfig('tls:\n  ca: certs/ca.crt\n  cert: certs/n.crt\n  key: certs/n.key\n')
    const config = await loadConfig(file, [{ key: 'dataDir', value: 'here', flag: '--data-dir' }], '/work')
    assert.equal(config.tls?.ca, path.join(path.dirname(file), 'certs/ca.crt'))
    assert.equal(config.dataDir, '/work/here')
  })

  it('tells unreadable files and bad YAML apart from bad values', async () => {
    assert.equal((await configError('/nonexistent/overlay.yaml')).code, 'OVL_CONFIG_UNREADABLE')
    assert.equal((await configError(await writeConfig('listen: [unclosed\n'))).code, 'OVL_CONFIG_UNREADABLE')
    assert.equal((await configError(await writeConfig('name: a\nname: b\n'))).code, 'OVL_CONFIG_UNREADABLE', 'duplicate keys')
    assert.equal((await configError(await writeConfig('- a list\n'))).code, 'OVL_CONFIG_INVALID')
  })

  it('the example configs in config/ are valid', async () => {
    for (const name of ['bootstrap.yaml', 'node.yaml']) {
      const config = await loadConfig(path.join(REPO_ROOT, 'config', name))
      assert.ok(config.name.length > 0, name)
    }
  })
})
