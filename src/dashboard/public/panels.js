// The panels beside and below the map: identity, peer table, warnings,
// recent messages. Each is redrawn from the latest state.
import { el, formatMs, formatTime, replaceChildren, shortId } from './dom.js'

export function renderIdentity(state) {
  const self = state.self
  document.getElementById('node-name').textContent = self.name
  document.getElementById('node-id').textContent = self.id
  const rows = [
    ['node id', self.id],
    ['listening', self.address ?? 'not started'],
    ['NAT type', self.nat],
    ['addresses', self.addresses.length ? self.addresses.map((a) => `${a.address} (${a.kind})`).join(', ') : '–'],
    ['sessions', String(state.peers.length)],
    ['known peers', String(state.knownTotal)],
    ['heartbeat', `every ${self.heartbeat.intervalMs} ms, down after ${self.heartbeat.timeoutMs} ms`],
    ['up', `${self.uptimeS} s`],
    ['traffic', `in ${state.stats.framesIn} msgs / ${state.stats.bytesIn} B, out ${state.stats.framesOut} msgs / ${state.stats.bytesOut} B`],
  ]
  replaceChildren(document.getElementById('identity'), rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))
}

export function renderPeers(state) {
  const rows = state.peers.map((p) =>
    el('tr', { 'data-peer-id': p.id, 'data-state': p.state === 'up' ? 'up' : 'down', 'data-link': p.link },
      el('td', {}, p.name), el('td', { className: 'mono', title: p.id }, shortId(p.id)), el('td', {}, p.address),
      el('td', {}, p.via ? `${p.link} via ${shortId(p.via)}` : p.link), el('td', {}, p.direction),
      el('td', {}, formatMs(p.rttMs)), el('td', { title: `${p.missedHeartbeats} in all` }, `${p.recentMisses} (${p.missedHeartbeats})`), el('td', {}, formatMs(p.silentForMs)), el('td', {}, p.state)),
  )
  for (const d of state.down) {
    rows.push(
      el('tr', { 'data-peer-id': d.id, 'data-state': 'down', className: 'down' },
        el('td', {}, d.name), el('td', { className: 'mono', title: d.id }, shortId(d.id)), el('td', {}, d.address),
        el('td', {}, '–'), el('td', {}, '–'), el('td', {}, '–'), el('td', {}, '–'), el('td', {}, `since ${formatTime(d.at)}`), el('td', {}, `down: ${d.reason}`)),
    )
  }
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 9, className: 'empty' }, 'no peers yet')))
  replaceChildren(document.querySelector('#peers tbody'), rows)
}

export function renderWarnings(state) {
  const items = state.warnings.map((w) =>
    el('li', { className: w.local ? 'local' : 'remote', 'data-key': w.key, 'data-metric': w.metric, 'data-origin': w.origin },
      el('strong', {}, w.local ? 'here' : (w.originName ?? shortId(w.origin))), ' ', w.text, el('small', {}, ` since ${formatTime(w.since)}`)),
  )
  if (items.length === 0) items.push(el('li', { className: 'empty' }, 'none'))
  replaceChildren(document.getElementById('warnings'), items)
}

export function renderMessages(state) {
  const items = [...state.messages].reverse().map((m) => {
    const from = m.direction === 'out' ? 'me' : (m.fromName ?? shortId(m.from))
    const to = m.broadcast ? 'everyone' : m.direction === 'in' ? 'me' : (m.toName ?? shortId(m.to))
    const status = m.status === 'failed' ? `failed: ${m.error}` : m.status
    return el('li', { className: `${m.direction} ${m.status}`, 'data-direction': m.direction },
      el('time', {}, formatTime(m.at)), ' ', el('span', { className: 'who' }, `${from} → ${to}`), ' ', el('span', { className: 'text' }, m.text), ' ', el('small', {}, status))
  })
  replaceChildren(document.getElementById('messages'), items)
}

/** Keeps the "To" list in step with the peers, keeping the operator's choice. */
export function renderTargets(state) {
  const select = document.getElementById('send-to')
  const chosen = select.value
  const options = [
    ...state.peers.map((p) => el('option', { value: p.id }, `${p.name} (${shortId(p.id)})`)),
    ...state.known.map((k) => el('option', { value: k.id }, `${k.name} (${shortId(k.id)}, cached)`)),
  ]
  replaceChildren(select, options)
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen
}
