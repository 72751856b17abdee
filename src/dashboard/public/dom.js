// Small DOM helpers. Text from peers (names, messages) only ever goes in as
// text nodes, never as HTML.

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue
    if (key === 'className') node.className = value
    else node.setAttribute(key, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child)
  }
  return node
}

export function replaceChildren(parent, children) {
  parent.replaceChildren(...children)
}

export function shortId(id) {
  return id ? id.slice(0, 12) : ''
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–'
  if (ms < 10) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${ms.toFixed(0)} ms`
  return `${(ms / 1000).toFixed(1)} s`
}

export function formatTime(at) {
  return new Date(at).toLocaleTimeString()
}
