// The dashboard in a real headless Chromium, against three real `overlay`
// processes started through the CLI: the map shows every node and session,
// a node killed with SIGKILL turns down on the map within the heartbeat
// bound, a message sent from the page arrives, a crossed threshold's warning
// appears (here, and at a peer, naming its origin). Needs Debian's chromium:
// installed when missing and root; skipped loudly otherwise; under CI=true
// it must run.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { REPO_ROOT } from '../helpers/cli.js'
import { launchBrowser } from './support/browser.js'
import { requireChromium } from './support/chromium.js'
import { HEARTBEAT, startCliNode, workDir, type RunningNode } from './support/network.js'

/** What the page drew: the graph's elements and the peer table. */
interface Drawn {
  nodes: Array<{ id: string; classes: string[] }>
  edges: Array<{ id: string; classes: string[]; target: string }>
  rows: Array<{ id: string; state: string }>
  warnings: Array<{ metric: string; origin: string; text: string }>
}

/** The little of the browser's globals the page is read through (the test itself is compiled without DOM types). */
interface PageElement {
  getAttribute(name: string): string
  textContent: string
}
interface CyElement {
  id(): string
  classes(): string[]
  data(key: string): string
}
interface PageGlobals {
  overlayDashboard: { cy: { nodes(): CyElement[]; edges(): CyElement[] } }
  document: { querySelectorAll(selector: string): Iterable<PageElement> }
}

/** Read in the page. No named functions inside: tsx would wrap them in a helper the page does not have. */
function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const { overlayDashboard, document } = globalThis as unknown as PageGlobals
    return {
      nodes: overlayDashboard.cy.nodes().map((n) => ({ id: n.id(), classes: n.classes() })),
      edges: overlayDashboard.cy.edges().map((e) => ({ id: e.id(), classes: e.classes(), target: e.data('target') })),
      rows: Array.from(document.querySelectorAll('#peers tbody tr[data-peer-id]')).map((r) => ({ id: r.getAttribute('data-peer-id'), state: r.getAttribute('data-state') })),
      warnings: Array.from(document.querySelectorAll('#warnings li[data-key]')).map((li) => ({ metric: li.getAttribute('data-metric'), origin: li.getAttribute('data-origin'), text: li.textContent })),
    }
  })
}

/** Waits until `check(drawn)` holds on the page (the page updates live; nothing reloads). */
async function untilDrawn(page: Page, check: (d: Drawn) => boolean, ms: number, what: string): Promise<Drawn> {
  const deadline = Date.now() + ms
  let last: Drawn | null = null
  while (Date.now() < deadline) {
    last = await drawn(page)
    if (check(last)) return last
    await page.waitForTimeout(50) // a poll of the page's own state, not a wait for time to pass
  }
  throw new Error(`timed out after ${ms} ms waiting for the map to show ${what}; it shows ${JSON.stringify(last)}`)
}

describe('the dashboard in a real browser', () => {
  it('maps a three-node network live, sends from the page, shows a node going down and a warning', { timeout: 120_000 }, async (t) => {
    const chromium = await requireChromium(t)
    if (chromium === null) return
    const dir = await workDir(t)
    // a warns when it has fewer than 2 peers: crossed when c is killed.
    const a = await startCliNode(t, dir, 'a', { yaml: 'thresholds: { evaluateIntervalMs: 200, minPeers: 2, broadcastIntervalMs: 1000 }' })
    const bootstrap = a.ready.address
    const [b, c] = (await Promise.all([startCliNode(t, dir, 'b', { bootstrap }), startCliNode(t, dir, 'c', { bootstrap })])) as [RunningNode, RunningNode]
    const id = { a: a.ready.nodeId, b: b.ready.nodeId, c: c.ready.nodeId }
    const marks = { a: 0, b: 0 }
    await Promise.all([b, c].map((n) => a.proc.next('peer:up', (e) => (e.peer as { id: string }).id === n.ready.nodeId, 20_000)))

    const browser = await launchBrowser(t, chromium)
    const page = await browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (err) => pageErrors.push(err.message))
    page.on('console', (msg) => msg.type() !== 'log' && pageErrors.push(`${msg.type()}: ${msg.text()} (${msg.location().url})`))
    await page.goto(a.ready.dashboard as string)
    const shownUrl = new URL(page.url())
    assert.equal(shownUrl.search + shownUrl.hash, '', 'the token leaves the address bar (and the history)')

    await t.test('the map shows every node and session', async () => {
      const shown = await untilDrawn(page, (d) => [id.a, id.b, id.c].every((n) => d.nodes.some((x) => x.id === n)) && d.edges.length >= 2, 15_000, 'a, b, c and two sessions')
      assert.ok(shown.nodes.find((n) => n.id === id.a)?.classes.includes('self'))
      for (const peer of [id.b, id.c]) {
        assert.ok(shown.nodes.find((n) => n.id === peer)?.classes.includes('peer'), `${peer} is drawn as a peer with a session`)
        const edge = shown.edges.find((e) => e.target === peer)
        assert.ok(edge?.classes.includes('link-direct'), 'the session is drawn as a direct link')
        assert.ok(shown.rows.some((r) => r.id === peer && r.state === 'up'), 'and listed in the peer table')
      }
      assert.equal(await page.locator('#connection').getAttribute('data-state'), 'live')
      await untilDrawn(page, (d) => !d.warnings.some((w) => w.metric === 'few-peers'), 5_000, 'no few-peers warning while a has both peers')
    })

    await t.test('a message sent from the page arrives at its target', async () => {
      const text = `hello b, from the dashboard ${Date.now()}`
      await page.selectOption('#send-to', id.b)
      await page.fill('#send-text', text)
      const arrived = b.proc.next('message', (e) => e.text === text, 10_000)
      await page.click('#send-button')
      const message = await arrived
      assert.equal(message.from, id.a)
      assert.equal(message.broadcast, false)
      await page.waitForSelector('#send-result[data-outcome="ok"]', { timeout: 10_000 })
      await page.waitForFunction((t) => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('#messages li')).some((li) => li.textContent.includes(t)), text, { timeout: 5_000 })
    })

    await t.test('a node killed with SIGKILL turns down on the map within the heartbeat bound', async () => {
      marks.a = a.proc.lines.length
      marks.b = b.proc.lines.length
      const killedAt = Date.now()
      c.proc.kill('SIGKILL')
      // Declared down timeoutMs after it was last heard; one push interval and a frame to draw it.
      const boundMs = HEARTBEAT.timeoutMs + HEARTBEAT.intervalMs + 1_000
      const shown = await untilDrawn(page, (d) => !!d.nodes.find((n) => n.id === id.c)?.classes.includes('down'), boundMs + 5_000, 'c down')
      const tookMs = Date.now() - killedAt
      assert.ok(tookMs <= boundMs, `c was drawn down ${tookMs} ms after the kill; the bound is ${boundMs} ms`)
      assert.ok(shown.edges.find((e) => e.target === id.c)?.classes.includes('health-down'), 'its session is drawn down')
      assert.ok(shown.rows.some((r) => r.id === id.c && r.state === 'down'), 'and the table says so')
      assert.ok(shown.nodes.find((n) => n.id === id.b)?.classes.includes('peer'), 'b stays up')
    })

    await t.test('the warning raised by the crossed threshold appears, here and at a peer (naming its origin)', async () => {
      const shown = await untilDrawn(page, (d) => d.warnings.some((w) => w.metric === 'few-peers' && w.origin === id.a), 10_000, 'the few-peers warning')
      assert.match(shown.warnings.find((w) => w.metric === 'few-peers')?.text ?? '', /fewer than 2/)
      const printed = await a.proc.next('warning', (e) => e.metric === 'few-peers' && e.local === true, 10_000, marks.a)
      assert.equal(printed.origin, id.a)
      assert.equal(printed.value, 1)
      const atB = await b.proc.next('warning', (e) => e.metric === 'few-peers' && e.local === false, 10_000, marks.b)
      assert.equal(atB.origin, id.a)
      assert.equal(atB.originName, 'a')

      const pageB = await browser.newPage()
      await pageB.goto(b.ready.dashboard as string)
      const fromA = (d: Drawn) => d.warnings.find((w) => w.origin === id.a && w.metric === 'few-peers' && w.text.includes('1 peer with a session'))
      const atBPage = await untilDrawn(pageB, (d) => fromA(d) !== undefined, 10_000, "a's warning on b's dashboard")
      assert.match(fromA(atBPage)?.text ?? '', /^a /, 'b names the origin')
      await pageB.close()
    })

    await fs.mkdir(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true })
    await page.screenshot({ path: path.join(REPO_ROOT, 'test-artifacts/dashboard.png'), fullPage: true })
    assert.deepEqual(pageErrors, [], 'no script errors or CSP violations on the page')
  })
})
