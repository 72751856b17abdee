/**
 * The operator's config file, as a schema. Every key has a default (so a node
 * runs with no file at all), a description (docs/configuration.md is checked
 * against these) and an "expected" text used in error messages.
 */
import net from 'node:net'
import { z } from 'zod'
import { DEFAULT_HEARTBEAT, DEFAULT_LIMITS, DEFAULT_MESSAGING, DEFAULT_PEERS, DEFAULT_RELAY } from '../node/defaults.js'
import { DEFAULT_DASHBOARD } from '../dashboard/defaults.js'
import { DEFAULT_METRICS, DEFAULT_THRESHOLDS } from '../metrics/defaults.js'
import { isNodeId } from '../identity/node-id.js'

const expected = (text: string) => ({ error: () => `expected ${text}` })

const port = z.number(expected('a port number from 0 to 65535')).int(expected('a whole number')).min(0, expected('a port number from 0 to 65535')).max(65535, expected('a port number from 0 to 65535'))
const positiveInt = (unit: string, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number(expected(`a whole number of ${unit} from ${min} to ${max}`))
    .int(expected(`a whole number of ${unit}`))
    .min(min, expected(`at least ${min} (${unit})`))
    .max(max, expected(`at most ${max} (${unit})`))
const path = z.string(expected('a file or directory path')).min(1, expected('a non-empty path'))
const ratio = z.number(expected('a share from 0 to 1')).min(0, expected('a share from 0 to 1')).max(1, expected('a share from 0 to 1'))
const host = z.string(expected('an IPv4 address such as 0.0.0.0 or 127.0.0.1')).refine((v) => net.isIPv4(v), expected('an IPv4 address such as 0.0.0.0 or 127.0.0.1'))

export const HOST_PORT_PATTERN = /^([^:\s]+):(\d{1,5})$/
export const hostPort = z
  .string(expected('HOST:PORT, for example 198.51.100.7:9000'))
  .refine((v) => {
    const m = HOST_PORT_PATTERN.exec(v)
    return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536
  }, expected('HOST:PORT with a port from 1 to 65535, for example 198.51.100.7:9000'))

const nodeId = z.string(expected('a node id (52 characters of base32)')).refine(isNodeId, expected('a node id (52 characters of base32: a-z, 2-7)'))

export const configSchema = z
  .object({
    name: z
      .string(expected('a node name'))
      .min(1, expected('a node name of 1 to 64 characters'))
      .max(64, expected('a node name of 1 to 64 characters'))
      .regex(/^[A-Za-z0-9._-]+$/, expected('a node name of letters, digits, ".", "_" and "-"'))
      .optional()
      .describe('Node name, written into its certificate and shown to peers. Default: node-<port>.'),
    listen: z
      .object({
        host: host.default('0.0.0.0').describe('Address the UDP socket binds to.'),
        port: port.default(9000).describe('UDP port; 0 picks a free one.'),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 9000 })
      .describe('Where the node listens. Every byte goes through this one UDP socket.'),
    dataDir: path.optional().describe('Directory for the identity, development certificate and peer cache. Default: data/<name>.'),
    identity: path.optional().describe('Ed25519 identity file (created if missing). Default: <dataDir>/identity.key.'),
    tls: z
      .object({
        ca: path.describe('Network CA certificate: the only trust root.'),
        cert: path.describe('This node\'s certificate, issued by the network CA for its identity.'),
        key: path.describe('This node\'s TLS private key (mode 0600).'),
      })
      .strict()
      .optional()
      .describe('Certificate files. Omit to use the development CA in certs/dev (never in production).'),
    devCaDir: path.default('certs/dev').describe('Where the development CA lives when tls is not set.'),
    bootstrap: z.array(hostPort, expected('a list of HOST:PORT strings')).default([]).describe('Peers to join through, as HOST:PORT.'),
    stun: z
      .array(hostPort, expected('a list of HOST:PORT strings'))
      .default([])
      .describe('STUN servers (RFC 5389/8489) that tell this node its reflexive address and NAT type, as HOST:PORT (HOST a name or an IPv4 address). Empty: the bootstrap peers serve (every node answers STUN). Two or more at distinct addresses tell an easy NAT from a hard one. Also: --stun (netcheck).'),
    upnp: z.boolean(expected('true or false')).default(true).describe('Map the node\'s UDP port on the LAN\'s UPnP gateway (renewed, deleted at stop; advertised once seen to work). false, or --no-upnp, turns it off.'),
    heartbeat: z
      .object({
        intervalMs: positiveInt('milliseconds', 100, 60_000).default(DEFAULT_HEARTBEAT.intervalMs).describe('Time between PINGs on a session.'),
        timeoutMs: positiveInt('milliseconds', 200, 300_000).default(DEFAULT_HEARTBEAT.timeoutMs).describe('A peer silent this long is declared down.'),
      })
      .strict()
      .refine((h) => h.timeoutMs > h.intervalMs, { error: 'expected timeoutMs greater than intervalMs (at least one PING must fit in the timeout)', path: ['timeoutMs'] })
      .default({ ...DEFAULT_HEARTBEAT })
      .describe('Liveness checks on every session.'),
    peers: z
      .object({
        target: positiveInt('sessions', 1, 1_000).default(DEFAULT_PEERS.target).describe('Dial more peers while below this many sessions.'),
        max: positiveInt('sessions', 1, 10_000).default(DEFAULT_PEERS.max).describe('Refuse inbound sessions beyond this many (the peer gets records of others to try).'),
        exchangeIntervalMs: positiveInt('milliseconds', 1_000, 3_600_000).default(DEFAULT_PEERS.exchangeIntervalMs).describe('Ask a random peer for its records this often.'),
        maintainIntervalMs: positiveInt('milliseconds', 100, 600_000).default(DEFAULT_PEERS.maintainIntervalMs).describe('Check whether to dial more peers this often.'),
        cacheTtlMs: positiveInt('milliseconds', 60_000).default(DEFAULT_PEERS.cacheTtlMs).describe('Cached peers not seen for this long are forgotten.'),
        cacheMax: positiveInt('peers', 1, 1_000_000).default(DEFAULT_PEERS.cacheMax).describe('Most peers kept in the cache.'),
        backoffBaseMs: positiveInt('milliseconds', 10, 600_000).default(DEFAULT_PEERS.backoffBaseMs).describe('First reconnect delay after a failed dial (doubles per failure, 50-100 % jitter).'),
        backoffMaxMs: positiveInt('milliseconds', 10, 3_600_000).default(DEFAULT_PEERS.backoffMaxMs).describe('Longest reconnect delay.'),
        cachedDialTimeoutMs: positiveInt('milliseconds', 100, 600_000).default(DEFAULT_PEERS.cachedDialTimeoutMs).describe('Dial timeout for cached peers, which may be gone.'),
      })
      .strict()
      .refine((p) => p.max >= p.target, { error: 'expected max at least target', path: ['max'] })
      .default({ ...DEFAULT_PEERS })
      .describe('Which peers to keep sessions with, and the peer cache (LevelDB in <dataDir>/peers).'),
    relay: z
      .object({
        enabled: z.boolean(expected('true or false')).default(DEFAULT_RELAY.enabled).describe('Relay sessions for peers that cannot reach each other (asked only of nodes others can reach: an open NAT type, or a bootstrap node).'),
        maxSessions: positiveInt('sessions', 1, 100_000).default(DEFAULT_RELAY.maxSessions).describe('Relayed sessions at once.'),
        maxPerNode: positiveInt('sessions', 1, 10_000).default(DEFAULT_RELAY.maxPerNode).describe('Relayed sessions one node may ask for at once.'),
        maxDurationMs: positiveInt('milliseconds', 1_000).default(DEFAULT_RELAY.maxDurationMs).describe('Longest a relayed session lasts.'),
        maxBytes: positiveInt('bytes', 1_024).default(DEFAULT_RELAY.maxBytes).describe('Most bytes one relayed session may carry.'),
        idleTimeoutMs: positiveInt('milliseconds', 1_000, 3_600_000).default(DEFAULT_RELAY.idleTimeoutMs).describe('A relayed session that moved nothing for this long is dropped.'),
      })
      .strict()
      .default({ ...DEFAULT_RELAY })
      .describe('Relaying for others: the relay forwards ciphertext only, within these limits.'),
    messaging: z
      .object({
        hopLimit: positiveInt('hops', 1, 255).default(DEFAULT_MESSAGING.hopLimit).describe('Hops a broadcast or routed message may take.'),
        deliveryTimeoutMs: positiveInt('milliseconds', 100, 600_000).default(DEFAULT_MESSAGING.deliveryTimeoutMs).describe('How long send waits for an acknowledgement.'),
      })
      .strict()
      .default({ ...DEFAULT_MESSAGING })
      .describe('Direct messages and broadcasts.'),
    limits: z
      .object({
        maxFrameBytes: positiveInt('bytes', 1024, 64 * 1024 * 1024).default(DEFAULT_LIMITS.maxFrameBytes).describe('Largest frame accepted from a peer.'),
        maxHalfOpen: positiveInt('setups', 1, 100_000).default(DEFAULT_LIMITS.maxHalfOpen).describe('Inbound setups not yet authenticated, whole node.'),
        maxHalfOpenPerSource: positiveInt('setups', 1, 100_000).default(DEFAULT_LIMITS.maxHalfOpenPerSource).describe('Inbound setups not yet authenticated, per source IP.'),
        handshakeTimeoutMs: positiveInt('milliseconds', 100, 600_000).default(DEFAULT_LIMITS.handshakeTimeoutMs).describe('From stream allocation to an authenticated session.'),
        dialTimeoutMs: positiveInt('milliseconds', 100, 600_000).default(DEFAULT_LIMITS.dialTimeoutMs).describe('From the first setup datagram to a connected stream.'),
        messagesPerSecond: positiveInt('messages per second', 1, 10_000_000).default(DEFAULT_LIMITS.messagesPerSecond).describe('Messages one peer may send per second (burst: twice this); the excess is dropped. ACK and PONG on a session, answers to this node\'s own messages, are not counted.'),
        deliveriesPerSecond: positiveInt('messages per second', 1, 10_000_000).default(DEFAULT_LIMITS.deliveriesPerSecond).describe('Direct messages from one origin delivered per second; the excess is refused.'),
      })
      .strict()
      .default({ ...DEFAULT_LIMITS })
      .describe('Limits on what peers can make this node hold.'),
    revoked: z.array(nodeId, expected('a list of node ids')).default([]).describe('Revoked node ids: refused at handshake; reloaded on SIGHUP.'),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], expected('one of fatal, error, warn, info, debug, trace, silent')).default('info').describe('Least severe level written.'),
        format: z.enum(['pretty', 'json'], expected('pretty or json')).default('pretty').describe('pretty for people; json for log collectors (always json with --json).'),
      })
      .strict()
      .default({ level: 'info', format: 'pretty' })
      .describe('Logs go to stderr.'),
    dashboard: z
      .object({
        enabled: z.boolean(expected('true or false')).default(DEFAULT_DASHBOARD.enabled).describe('Serve the web dashboard (and /metrics). Its URL, with the access token, is printed at start and given as `dashboard` in the `ready` event.'),
        host: host.default(DEFAULT_DASHBOARD.host).describe('Address the dashboard listens on. Keep it on loopback: whoever reaches it with the token can send as this node.'),
        port: port.default(DEFAULT_DASHBOARD.port).describe('TCP port of the dashboard; 0 picks a free one.'),
        tokenFile: path.nullable().default(DEFAULT_DASHBOARD.tokenFile).describe('File holding the access token (created with mode 0600 if missing), so it survives restarts (for Prometheus: authorization.credentials_file). null: a new token at every start.'),
        allowedHosts: z.array(z.string(expected('a host name')).regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, expected('HOST or HOST:PORT')), expected('a list of host names')).default([]).describe('More Host header values the dashboard answers to (for example a reverse proxy\'s name), as HOST or HOST:PORT. Any other Host is refused (DNS rebinding).'),
      })
      .strict()
      .default({ ...DEFAULT_DASHBOARD, allowedHosts: [] })
      .describe('The web dashboard: a live map of the peers, messages, warnings (docs/dashboard.md). Also: --dashboard [HOST:]PORT, --no-dashboard.'),
    metrics: z
      .object({
        enabled: z.boolean(expected('true or false')).default(DEFAULT_METRICS.enabled).describe('Serve /metrics in Prometheus text format on the dashboard\'s address.'),
        requireToken: z.boolean(expected('true or false')).default(DEFAULT_METRICS.requireToken).describe('Ask for the access token on /metrics (a scraper sends it as a Bearer token). false lets any local process read the metrics.'),
        process: z.boolean(expected('true or false')).default(DEFAULT_METRICS.process).describe('Also export process metrics: CPU, memory, event loop lag.'),
      })
      .strict()
      .default({ ...DEFAULT_METRICS })
      .describe('Prometheus metrics (docs/dashboard.md lists them).'),
    thresholds: z
      .object({
        evaluateIntervalMs: positiveInt('milliseconds', 100, 3_600_000).default(DEFAULT_THRESHOLDS.evaluateIntervalMs).describe('How often the thresholds are checked.'),
        rttMs: positiveInt('milliseconds', 1, 600_000).nullable().default(DEFAULT_THRESHOLDS.rttMs).describe('Warn when the smoothed heartbeat round trip to a peer is above this. null: off.'),
        heartbeatLossRatio: ratio.nullable().default(DEFAULT_THRESHOLDS.heartbeatLossRatio).describe('Warn when more than this share (0 to 1) of heartbeats went unanswered over lossWindowMs. null: off.'),
        lossWindowMs: positiveInt('milliseconds', 1_000, 3_600_000).default(DEFAULT_THRESHOLDS.lossWindowMs).describe('The window the heartbeat loss ratio is measured over.'),
        minPeers: positiveInt('peers', 1, 10_000).nullable().default(DEFAULT_THRESHOLDS.minPeers).describe('Warn when the node has fewer sessions than this. null: off.'),
        peerMessagesPerSecond: positiveInt('messages per second', 1, 10_000_000).nullable().default(DEFAULT_THRESHOLDS.peerMessagesPerSecond).describe('Warn when one peer sends more messages a second than this. null: off.'),
        relayShare: ratio.nullable().default(DEFAULT_THRESHOLDS.relayShare).describe('Warn when more than this share (0 to 1) of sessions go through a relay. null: off.'),
        broadcast: z.boolean(expected('true or false')).default(DEFAULT_THRESHOLDS.broadcast).describe('Tell the network: broadcast each warning raised or cleared as a signed METRIC_WARNING.'),
        broadcastIntervalMs: positiveInt('milliseconds', 1_000, 86_400_000).default(DEFAULT_THRESHOLDS.broadcastIntervalMs).describe('At most one METRIC_WARNING per warning in this time; a change in between goes out when it ends.'),
      })
      .strict()
      .default({ ...DEFAULT_THRESHOLDS })
      .describe('Warning thresholds. A crossing is logged, printed (`warning`, `warning:cleared`), shown on the dashboard and broadcast.'),
  })
  .strict()

export type ConfigInput = z.input<typeof configSchema>
export type ParsedConfig = z.output<typeof configSchema>
