// The dashboard's security checks over plain HTTP, against a real node's
// dashboard: the access token, the Host check against DNS rebinding, no CORS
// at all, Origin and site checks on what changes state, the token file.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { pino } from 'pino'
import { MAX_BODY_BYTES, MAX_TEXT_CHARS } from '../../src/dashboard/defaults.js'
import { HostPolicy } from '../../src/dashboard/hosts.js'
import type { OverlayError } from '../../src/errors.js'
import { MANUAL, startNodes, wire } from '../helpers/network.js'
import { tempDir } from '../helpers/pki.js'
import { codeOf, request, type Reply } from './support/http.js'
import { access, operatorFor } from './support/operator.js'

async function dashboard(t: TestContext, overrides: Parameters<typeof operatorFor>[2] = {}) {
  const [node] = await startNodes(t, 1, MANUAL)
  const operator = await operatorFor(t, node!, overrides)
  return { node: node!, operator, ...access(operator) }
}

/** Trades the token for the session cookie, as the browser does with the printed URL. */
async function browserSession(port: number, token: string): Promise<{ cookie: string; setCookie: string; location: string }> {
  const entry = await request({ port, path: `/?token=${token}`, headers: { 'sec-fetch-site': 'none' } })
  assert.equal(entry.status, 303)
  const setCookie = String(entry.headers['set-cookie'])
  return { cookie: setCookie.split(';')[0] as string, setCookie, location: String(entry.headers.location) }
}

function assertNoCors(reply: Reply, what: string): void {
  const cors = Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))
  assert.deepEqual(cors, [], `${what}: no CORS header at all`)
}

const PATHS = ['/', '/api/state', '/api/events', '/app/app.js', '/vendor/cytoscape.min.js', '/metrics', '/no/such/path']

describe('dashboard security', () => {
  it('prints a URL with a 256-bit token on the loopback address', async (t) => {
    const { operator, port, token } = await dashboard(t)
    assert.equal(operator.dashboardUrl, `http://127.0.0.1:${port}/?token=${token}`)
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')
    const other = await dashboard(t)
    assert.notEqual(other.token, token, 'a new token per dashboard')
  })

  it('refuses every path without the token, or with a wrong one', async (t) => {
    const { port, token } = await dashboard(t)
    for (const p of PATHS) {
      const none = await request({ port, path: p })
      assert.equal(none.status, 401, `${p} without a token`)
      assert.equal(codeOf(none), 'OVL_DASHBOARD_UNAUTHORIZED')
      assertNoCors(none, p)
      const wrong: Array<Record<string, string>> = [{ authorization: `Bearer ${token.slice(0, -1)}x` }, { cookie: `overlay_dashboard_${port}=${token}` }, { authorization: 'Basic abc' }]
      for (const headers of wrong) {
        assert.equal((await request({ port, path: p, headers })).status, 401, `${p} with ${JSON.stringify(headers)}`)
      }
    }
    assert.equal((await request({ port, path: `/?token=${token}x` })).status, 401, 'a wrong token in the URL')
    assert.equal((await request({ port, path: `/api/state?token=${token}` })).status, 401, 'the URL token opens the page only')
  })

  it('trades the URL token for an HttpOnly SameSite=Strict cookie that opens the page, and hands the token to the page in the fragment', async (t) => {
    const { port, token, bearer } = await dashboard(t)
    const { cookie, setCookie, location } = await browserSession(port, token)
    assert.equal(location, `/#token=${token}`, 'the fragment never reaches a server; the page keeps it and clears the address bar')
    assert.match(setCookie, new RegExp(`^overlay_dashboard_${port}=`), 'named after the port: two dashboards on one host keep their own')
    for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(setCookie.includes(attribute), attribute)
    assert.ok(!setCookie.includes(token), 'the cookie is not the token itself')

    for (const p of ['/', '/app/app.js', '/vendor/uPlot.iife.min.js']) assert.equal((await request({ port, path: p, headers: { cookie } })).status, 200, `${p} with the cookie`)
    // Cookies are not kept apart by port: another server on this host could be handed it. It opens no data and no action.
    for (const p of ['/api/state', '/api/events', '/metrics']) {
      const reply = await request({ port, path: p, headers: { cookie } })
      assert.equal(reply.status, 401, `${p} with the cookie alone`)
      assert.equal(codeOf(reply), 'OVL_DASHBOARD_UNAUTHORIZED')
    }
    const post = await request({ port, path: '/api/broadcast', method: 'POST', headers: { cookie, origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' }, body: '{"text":"x"}' })
    assert.equal(post.status, 401, 'nor an action')
    const state = await request({ port, path: '/api/state', headers: bearer })
    assert.equal(state.status, 200)
    assertNoCors(state, '/api/state')
    assert.equal((JSON.parse(state.body) as { self: { id: string } }).self.id.length, 52)
  })

  it('refuses a foreign Host header, even with the token (DNS rebinding)', async (t) => {
    const { port, token, bearer } = await dashboard(t)
    const foreign = ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `localhost`, `10.0.0.1:${port}`, `127.0.0.1.evil.example:${port}`]
    for (const host of foreign) {
      for (const [p, headers] of [['/', bearer], [`/?token=${token}`, {}], ['/api/state', bearer], ['/metrics', bearer]] as const) {
        const reply = await request({ port, path: p, headers: { ...headers, host } })
        assert.equal(reply.status, 403, `Host ${host} on ${p}`)
        assert.equal(codeOf(reply), 'OVL_DASHBOARD_HOST_REFUSED')
        assertNoCors(reply, `Host ${host}`)
      }
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      assert.equal((await request({ port, path: '/api/state', headers: { ...bearer, host } })).status, 200, `Host ${host}`)
    }
    // An absolute-form request target names another host than the Host header.
    assert.equal((await request({ port, path: `http://evil.example/api/state`, headers: bearer })).status, 403)
  })

  it('on all interfaces, answers to the machine\'s own addresses and the loopback names', () => {
    const policy = new HostPolicy({ host: '0.0.0.0', port: 8080 })
    assert.equal(policy.urlHost, '127.0.0.1', 'the printed URL still points at loopback')
    const own = Object.values(os.networkInterfaces()).flatMap((l) => l ?? []).filter((a) => a.family === 'IPv4').map((a) => `${a.address}:8080`)
    for (const host of [...own, 'localhost:8080', '127.0.0.1:8080']) assert.ok(policy.allows(host), host)
    for (const host of ['0.0.0.0:8080', 'evil.example:8080', '127.0.0.1:8081', undefined]) assert.ok(!policy.allows(host), String(host))
  })

  it('serves only the files it lists (no path traversal)', async (t) => {
    const { port, bearer } = await dashboard(t)
    for (const p of ['/app/../../package.json', '/app/%2e%2e/%2e%2e/package.json', '/vendor/../config/node.yaml', '/app/', '/app/app.js/..%2f..%2fpackage.json', '/src/dashboard/public/app.js']) {
      const reply = await request({ port, path: p, headers: bearer })
      assert.equal(reply.status, 404, p)
    }
  })

  it('answers the extra host names the operator allows', async (t) => {
    const { port, bearer } = await dashboard(t, { dashboard: { allowedHosts: ['dash.example', 'proxy.example:8443'] } })
    assert.equal((await request({ port, path: '/api/state', headers: { ...bearer, host: `dash.example:${port}` } })).status, 200)
    assert.equal((await request({ port, path: '/api/state', headers: { ...bearer, host: 'proxy.example:8443' } })).status, 200)
    assert.equal((await request({ port, path: '/api/state', headers: { ...bearer, host: 'proxy.example:8444' } })).status, 403)
  })

  it('sends no CORS headers, and refuses preflights and requests from other origins and sites', async (t) => {
    const { port, token } = await dashboard(t)
    const api = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const preflight = await request({ port, path: '/api/broadcast', method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } })
    assert.equal(preflight.status, 403)
    assertNoCors(preflight, 'a preflight')
    const body = JSON.stringify({ text: 'not from the page' })
    for (const origin of ['http://evil.example', `http://127.0.0.1:${port + 1}`, 'null', `https://127.0.0.1:${port}`]) {
      const reply = await request({ port, path: '/api/broadcast', method: 'POST', headers: { ...api, origin }, body })
      assert.equal(reply.status, 403, `Origin ${origin}`)
      assert.equal(codeOf(reply), 'OVL_DASHBOARD_ORIGIN_REFUSED')
      assertNoCors(reply, `Origin ${origin}`)
    }
    const cookieOnly = await request({ port, path: '/api/broadcast', method: 'POST', headers: { 'content-type': 'application/json', cookie: 'x=y' }, body })
    assert.equal(cookieOnly.status, 403, 'a state-changing request with neither an Origin nor the token as Bearer')
    for (const site of ['same-site', 'cross-site']) {
      for (const p of ['/', '/api/state']) {
        const reply = await request({ port, path: p, headers: { ...api, 'sec-fetch-site': site } })
        assert.equal(reply.status, 403, `Sec-Fetch-Site: ${site} on ${p}`)
        assert.equal(codeOf(reply), 'OVL_DASHBOARD_ORIGIN_REFUSED')
      }
    }
    const page = await request({ port, path: '/api/broadcast', method: 'POST', headers: { ...api, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }, body })
    assert.equal(page.status, 200, 'the page itself may')
    assertNoCors(page, 'an allowed POST')
    const script = await request({ port, path: '/api/broadcast', method: 'POST', headers: api, body })
    assert.equal(script.status, 200, 'a script with the token as Bearer needs no Origin')
  })

  it('sets strict security headers on every response', async (t) => {
    const { port, bearer } = await dashboard(t)
    for (const p of ['/', '/api/state', '/app/app.js', '/no/such/path']) {
      for (const headers of [bearer, {}]) {
        const reply = await request({ port, path: p, headers })
        assert.match(String(reply.headers['content-security-policy']), /default-src 'none'; script-src 'self'/, p)
        assert.match(String(reply.headers['content-security-policy']), /frame-ancestors 'none'/)
        assert.equal(reply.headers['x-content-type-options'], 'nosniff')
        assert.equal(reply.headers['x-frame-options'], 'DENY')
        assert.equal(reply.headers['cache-control'], 'no-store')
        assert.equal(reply.headers['referrer-policy'], 'no-referrer')
      }
    }
  })

  it('refuses bodies of the wrong type, too large, or malformed; and texts over the limit', async (t) => {
    const { port, bearer } = await dashboard(t)
    const post = (body: string | Buffer, type = 'application/json', extra: Record<string, string> = {}) =>
      request({ port, path: '/api/broadcast', method: 'POST', headers: { ...bearer, 'content-type': type, ...extra }, body })
    const cases: Array<[Promise<Reply>, number, string]> = [
      [post('{"text":"hi"}', 'text/plain'), 415, 'a form or text post'],
      [post('{"text":"hi"}', 'application/x-www-form-urlencoded'), 415, 'a form post'],
      [post('{"text":'), 400, 'malformed JSON'],
      [post('{"message":"hi"}'), 400, 'no text'],
      [post('{"text":"   "}'), 400, 'blank text'],
      [post(JSON.stringify({ text: 'x'.repeat(MAX_TEXT_CHARS + 1) })), 413, 'text over the limit'],
      [post(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)), 413, 'a declared length over the limit'],
      [post(Buffer.alloc(MAX_BODY_BYTES * 2, 0x20), 'application/json', { 'transfer-encoding': 'chunked' }), 413, 'a chunked body that grows over the limit'],
    ]
    for (const [reply, status, what] of cases) {
      const r = await reply
      assert.equal(r.status, status, what)
      assert.equal(codeOf(r), 'OVL_DASHBOARD_REQUEST_INVALID', what)
    }
    assert.equal((await post(JSON.stringify({ text: 'x'.repeat(MAX_TEXT_CHARS) }))).status, 200, 'a text at the limit goes')
    const wrongMethod = await request({ port, path: '/api/broadcast', headers: bearer })
    assert.equal(wrongMethod.status, 405)
    assert.equal(wrongMethod.headers.allow, 'POST')
  })

  it('never logs the token in full', async (t) => {
    const lines: string[] = []
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) })
    const { port, token, bearer } = await dashboard(t, { logger })
    await request({ port, path: `/?token=${token}` })
    await request({ port, path: '/api/state', headers: bearer })
    const log = lines.join('')
    assert.ok(log.includes('dashboard listening'), 'the start is logged')
    assert.ok(log.includes(`${token.slice(0, 4)}…`), 'with the first characters of the token')
    assert.ok(!log.includes(token.slice(0, 12)), 'and never more')
  })

  it('keeps the token in a 0600 file across restarts when asked, and refuses a file others can read', async (t) => {
    const dir = await tempDir('overlay-dash-token-')
    const file = path.join(dir, 'dashboard.token')
    const first = await dashboard(t, { dashboard: { tokenFile: file } })
    assert.equal(((await fs.stat(file)).mode & 0o777).toString(8), '600')
    assert.equal((await fs.readFile(file, 'utf8')).trim(), first.token)
    await first.operator.close()
    const second = await dashboard(t, { dashboard: { tokenFile: file } })
    assert.equal(second.token, first.token, 'the same token after a restart')

    await fs.chmod(file, 0o640)
    await assert.rejects(dashboard(t, { dashboard: { tokenFile: file } }), (err: OverlayError) => err.code === 'OVL_DASHBOARD_TOKEN_FILE')
    await fs.writeFile(file, 'short\n', { mode: 0o600 })
    await fs.chmod(file, 0o600)
    await assert.rejects(dashboard(t, { dashboard: { tokenFile: file } }), (err: OverlayError) => err.code === 'OVL_DASHBOARD_TOKEN_FILE')
  })

  it('fails with OVL_DASHBOARD_BIND when its port is taken', async (t) => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    const taken = (blocker.address() as net.AddressInfo).port
    await assert.rejects(dashboard(t, { dashboard: { port: taken } }), (err: OverlayError) => err.code === 'OVL_DASHBOARD_BIND')
  })

  it('serves /metrics without the token only when the operator says so (the Host check stays)', async (t) => {
    const { port } = await dashboard(t, { metrics: { requireToken: false } })
    assert.equal((await request({ port, path: '/metrics' })).status, 200)
    assert.equal((await request({ port, path: '/metrics', headers: { host: 'evil.example' } })).status, 403)
    assert.equal((await request({ port, path: '/api/state' })).status, 401, 'the rest still needs the token')
  })

  it('can be turned off, and /metrics with it', async (t) => {
    const [node] = await startNodes(t, 1, MANUAL)
    const off = await operatorFor(t, node!, { dashboard: { enabled: false } })
    assert.equal(off.dashboardUrl, null)
    const noMetrics = await dashboard(t, { metrics: { enabled: false } })
    assert.equal((await request({ port: noMetrics.port, path: '/metrics', headers: noMetrics.bearer })).status, 404)
  })

  it('sends and broadcasts for the page, with the node\'s error codes', async (t) => {
    const nodes = await startNodes(t, 2, MANUAL)
    await wire(nodes, [[1, 0]])
    const operator = await operatorFor(t, nodes[0]!)
    const { port, bearer } = access(operator)
    const json = { ...bearer, 'content-type': 'application/json' }
    const arrived = new Promise<string>((resolve) => nodes[1]!.once('chat', (chat) => resolve(chat.text)))
    const sent = await request({ port, path: '/api/send', method: 'POST', headers: json, body: JSON.stringify({ to: 'n1', text: 'from the API' }) })
    assert.equal(sent.status, 200, sent.body)
    assert.equal(await arrived, 'from the API')
    assert.deepEqual(JSON.parse(sent.body).to, nodes[1]!.nodeId)
    const unknown = await request({ port, path: '/api/send', method: 'POST', headers: json, body: JSON.stringify({ to: 'nobody', text: 'x' }) })
    assert.equal(unknown.status, 404)
    assert.equal(codeOf(unknown), 'OVL_PEER_UNKNOWN')
    const state = JSON.parse((await request({ port, path: '/api/state', headers: bearer })).body) as { messages: Array<{ text: string; status: string }> }
    assert.deepEqual(state.messages.map((m) => [m.text, m.status]), [['from the API', 'delivered'], ['x', 'failed']])
  })
})
