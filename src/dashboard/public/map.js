// The peer map, drawn with Cytoscape.js (served from the node itself).
// Nodes: this node, peers with a session, peers recently down, peers known
// from the cache. Edges: this node's sessions, styled by how they are
// connected (class link-*) and by their health (class health-*).
import { formatMs, shortId } from './dom.js'

const COLORS = { self: '#1565c0', peer: '#2e7d32', known: '#9e9e9e', down: '#c62828', ok: '#43a047', slow: '#f9a825', lossy: '#ef6c00' }

const STYLE = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4, width: 22, height: 22, 'background-color': COLORS.known, color: '#263238' } },
  { selector: 'node.self', style: { width: 34, height: 34, 'background-color': COLORS.self, 'font-weight': 'bold' } },
  { selector: 'node.peer', style: { 'background-color': COLORS.peer } },
  { selector: 'node.known', style: { 'background-opacity': 0.25, 'border-width': 2, 'border-color': COLORS.known, width: 16, height: 16 } },
  { selector: 'node.down', style: { 'background-color': COLORS.down, shape: 'diamond' } },
  { selector: 'edge', style: { width: 3, 'line-color': COLORS.ok, 'curve-style': 'bezier', label: 'data(label)', 'font-size': 9, 'text-background-color': '#fff', 'text-background-opacity': 0.8 } },
  { selector: 'edge.link-punched', style: { 'line-style': 'dashed' } },
  { selector: 'edge.link-upnp', style: { 'line-style': 'dashed', 'line-dash-pattern': [10, 3, 2, 3] } },
  { selector: 'edge.link-relayed', style: { 'line-style': 'dotted', width: 4 } },
  { selector: 'edge.health-slow', style: { 'line-color': COLORS.slow } },
  { selector: 'edge.health-lossy', style: { 'line-color': COLORS.lossy, width: 4 } },
  { selector: 'edge.health-down', style: { 'line-color': COLORS.down, 'line-style': 'dashed', width: 2, opacity: 0.7 } },
]

export function createMap(container) {
  const cy = cytoscape({ container, style: STYLE, elements: [], minZoom: 0.2, maxZoom: 3 })
  let shape = ''

  function update(state) {
    const elements = toElements(state)
    cy.batch(() => {
      const wanted = new Set(elements.map((e) => e.data.id))
      cy.elements().forEach((existing) => {
        if (!wanted.has(existing.id())) existing.remove()
      })
      for (const element of elements) {
        const existing = cy.getElementById(element.data.id)
        if (existing.nonempty()) {
          existing.data(element.data)
          existing.classes(element.classes)
        } else {
          cy.add(element)
        }
      }
    })
    // Lay out again only when who is on the map changed, not on every figure.
    const nextShape = elements.map((e) => `${e.data.id}:${e.data.ring ?? ''}`).sort().join('|')
    if (nextShape !== shape) {
      shape = nextShape
      cy.layout({ name: 'concentric', concentric: (n) => n.data('ring'), levelWidth: () => 1, minNodeSpacing: 40, animate: false, padding: 30 }).run()
    }
  }

  return { cy, update }
}

function toElements(state) {
  const self = state.self
  const elements = [{ data: { id: self.id, label: self.name, ring: 3, kind: 'self' }, classes: 'self' }]
  const names = new Map([[self.id, self.name]])
  for (const peer of state.peers) names.set(peer.id, peer.name)
  for (const known of state.known) names.set(known.id, known.name)

  for (const peer of state.peers) {
    elements.push({ data: { id: peer.id, label: peer.name, ring: 2, kind: 'peer' }, classes: 'peer' })
    const health = healthOf(peer, state.rttWarnMs)
    const via = peer.via ? ` via ${names.get(peer.via) ?? shortId(peer.via)}` : ''
    elements.push({
      data: { id: `session:${peer.id}`, source: self.id, target: peer.id, label: `${formatMs(peer.rttMs)}${via}`, link: peer.link, health, rttMs: peer.rttMs, missed: peer.recentMisses },
      classes: `session link-${peer.link} health-${health}`,
    })
  }
  for (const down of state.down) {
    elements.push({ data: { id: down.id, label: down.name, ring: 2, kind: 'down', reason: down.reason }, classes: 'down' })
    elements.push({ data: { id: `session:${down.id}`, source: self.id, target: down.id, label: down.reason === 'OVL_HEARTBEAT_TIMEOUT' ? 'down' : 'closed', health: 'down' }, classes: 'session health-down' })
  }
  for (const known of state.known) {
    elements.push({ data: { id: known.id, label: known.name, ring: 1, kind: 'known' }, classes: 'known' })
  }
  return elements
}

function healthOf(peer, rttWarnMs) {
  if (peer.state !== 'up') return 'down'
  if (peer.recentMisses > 0) return 'lossy'
  if (rttWarnMs !== null && peer.rttMs !== null && peer.rttMs > rttWarnMs) return 'slow'
  return 'ok'
}
