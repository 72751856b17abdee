// Calls to the node's API. The access token comes with the printed URL (in
// the fragment, which is never sent to a server); the page keeps it in this
// tab's sessionStorage, which no other origin can read, clears it from the
// address bar, and sends it as a Bearer header on every call for data.

const TOKEN_KEY = 'overlay-dashboard-token'

function takeToken() {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash)
  if (match) {
    window.sessionStorage.setItem(TOKEN_KEY, match[1])
    window.history.replaceState(null, '', window.location.pathname)
  }
  return window.sessionStorage.getItem(TOKEN_KEY)
}

export const token = takeToken()

function headers(extra = {}) {
  return { authorization: `Bearer ${token}`, ...extra }
}

export async function postJson(path, body) {
  const response = await fetch(path, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) })
  const result = await response.json().catch(() => ({ error: { code: 'OVL_INTERNAL', message: `HTTP ${response.status}` } }))
  return { ok: response.ok, result }
}

/**
 * Live updates (server-sent events, read through fetch so the token goes in
 * a header). `handlers` maps event names to functions; `onStatus` gets
 * 'live', 'reconnecting' or 'no-token'. Reconnects after a second when cut.
 */
export function subscribe(handlers, onStatus) {
  if (!token) return onStatus('no-token')
  const connect = async () => {
    try {
      const response = await fetch('/api/events', { headers: headers({ accept: 'text/event-stream' }) })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      onStatus('live')
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += value
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event && data && handlers[event]) handlers[event](JSON.parse(data))
        }
      }
    } catch {
      // cut or refused: try again below
    }
    onStatus('reconnecting')
    window.setTimeout(connect, 1000)
  }
  connect()
}
