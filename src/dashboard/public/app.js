// The dashboard page: subscribes to the node's live updates and redraws the
// map, the panels and the charts from them. No reload, no framework.
import { postJson, subscribe } from './api.js'
import { createCharts } from './charts.js'
import { createMap } from './map.js'
import { renderIdentity, renderMessages, renderPeers, renderTargets, renderWarnings } from './panels.js'

const MAX_POINTS = 120

const map = createMap(document.getElementById('map'))
const charts = createCharts(document.getElementById('rtt-chart'), document.getElementById('rate-chart'))
const connection = document.getElementById('connection')

// For people poking around in the console, and for the browser tests.
const view = { cy: map.cy, state: null, updates: 0 }
window.overlayDashboard = view

function render(state) {
  view.state = state
  view.updates++
  map.update(state)
  renderIdentity(state)
  renderPeers(state)
  renderWarnings(state)
  renderMessages(state)
  renderTargets(state)
  charts.setNames(state)
}

subscribe(
  {
    state: render,
    series: (points) => charts.reset(points),
    sample: (point) => charts.push(point, MAX_POINTS),
  },
  (status) => {
    connection.dataset.state = status
    connection.textContent = { live: 'live', reconnecting: 'reconnecting…', 'no-token': 'no access token: open the URL the node printed' }[status]
  },
)

const result = document.getElementById('send-result')

function report(outcome, success) {
  result.textContent = outcome.ok ? success(outcome.result) : `failed: ${outcome.result.error?.code ?? 'error'} ${outcome.result.error?.message ?? ''}`
  result.dataset.outcome = outcome.ok ? 'ok' : 'failed'
}

document.getElementById('send-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const to = document.getElementById('send-to').value
  const input = document.getElementById('send-text')
  result.textContent = 'sending…'
  result.dataset.outcome = 'pending'
  const outcome = await postJson('/api/send', { to, text: input.value })
  report(outcome, (r) => `delivered to ${r.name ?? r.to.slice(0, 12)} (${r.via === 'session' ? 'direct session' : `routed, ${r.hops} hops`}, ${r.rttMs} ms)`)
  if (outcome.ok) input.value = ''
})

document.getElementById('broadcast-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const input = document.getElementById('broadcast-text')
  result.dataset.outcome = 'pending'
  const outcome = await postJson('/api/broadcast', { text: input.value })
  report(outcome, (r) => `broadcast sent to ${r.sentTo} peer${r.sentTo === 1 ? '' : 's'}`)
  if (outcome.ok) input.value = ''
})
