/**
 * The dashboard's settings (config/schema.ts builds the `dashboard` section
 * from these) and its limits, each with its reason. Every limit has a test.
 */

export interface DashboardSettings {
  /** Serve the dashboard (and /metrics). */
  enabled: boolean
  /** Address the HTTP server binds to: loopback unless the operator says otherwise. */
  host: string
  /** TCP port; 0 picks a free one (the URL is printed at start). */
  port: number
  /** A file holding the access token (created, mode 0600, if missing): the same token across restarts, for scrapers. Null: a new token every start. */
  tokenFile: string | null
  /** Other host names the dashboard may be reached by (for example behind a reverse proxy), as HOST or HOST:PORT. */
  allowedHosts: string[]
}

export const DEFAULT_DASHBOARD: Readonly<DashboardSettings> = Object.freeze({ enabled: true, host: '127.0.0.1', port: 0, tokenFile: null, allowedHosts: [] })

/** Access token entropy: 256 bits (the least acceptable is 128). */
export const TOKEN_BYTES = 32
/** Live clients (open tabs, scrapers of the event stream) at once: each costs a socket and its pushes. */
export const MAX_LIVE_CLIENTS = 16
/** Largest request body read (a message to send is the biggest thing the API takes). */
export const MAX_BODY_BYTES = 16 * 1024
/** Longest message text the page may send. */
export const MAX_TEXT_CHARS = 4_000
/** Changes are pushed at most this often (several in a burst go out as one). */
export const PUSH_MIN_INTERVAL_MS = 250
/** A point on the charts (and a refreshed state to every live client) this often. */
export const SAMPLE_INTERVAL_MS = 1_000
/** Chart points kept: two minutes at one a second. */
export const HISTORY_SAMPLES = 120
/** Recent messages kept for the page. */
export const RECENT_MESSAGES = 50
/** Peers recently declared down or disconnected kept on the map, until they are back. */
export const RECENT_DOWN_PEERS = 64
/** A link that missed a heartbeat this recently is drawn lossy. */
export const RECENT_MISS_WINDOW_MS = 10_000
/** Misses remembered per peer (more in the window still colour the link the same). */
export const MAX_MISSES_PER_PEER = 64
/** Peers whose recent misses are remembered. */
export const MAX_MISS_PEERS = 1_024
/** Peers from the cache drawn on the map (most recently seen first); the rest are counted. */
export const MAX_MAP_KNOWN_PEERS = 200
/** A comment line on the event stream this often keeps proxies and the browser from closing it. */
export const KEEPALIVE_MS = 15_000
/** A live client whose socket holds more than this unsent is too slow: it is dropped, not buffered for. */
export const MAX_CLIENT_BACKLOG_BYTES = 1024 * 1024
/** Message text shown on the page is cut to this. */
export const SHOWN_TEXT_CHARS = 1_000
