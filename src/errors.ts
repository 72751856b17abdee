/**
 * Typed errors with stable codes. Tests and scripts match on `code`, never on
 * message text. Every code is listed in docs/errors.md (a test checks it).
 */

export const ERROR_CODES = {
  // configuration and files
  OVL_CONFIG_INVALID: 'A config file or command-line flag has a value of the wrong kind, or an unknown key.',
  OVL_CONFIG_UNREADABLE: 'A config file could not be read or is not valid YAML.',
  OVL_FILE_EXISTS: 'A command refused to overwrite an existing file (pass --force to replace it).',
  OVL_FILE_UNWRITABLE: 'A file or directory could not be created or written (permissions, a directory in the way, a full disk); the message names it and the reason.',
  OVL_IDENTITY_INVALID: 'An identity file is unreadable, not an Ed25519 private key, or group/world readable.',
  OVL_CA_INVALID: 'A CA directory lacks ca.crt or ca.key, or they do not belong together.',
  OVL_CERT_INVALID: 'A certificate or TLS key file is unreadable or malformed.',
  OVL_CERT_NO_NODE_ID: 'A certificate does not name a node id (no urn:overlay:node: URI in its subjectAltName).',
  OVL_CERT_IDENTITY_MISMATCH: "The node's certificate names another Ed25519 key than the node's identity file.",
  OVL_PEER_CACHE_LOCKED: 'The peer cache (LevelDB in the data directory) is locked by another process: two nodes share a data directory.',
  OVL_USAGE: 'A command was called with missing or malformed arguments.',

  // transport: connection setup over the UDP socket
  OVL_SOCKET_BIND: 'The UDP socket could not be bound (address in use, or not available).',
  OVL_SETUP_TIMEOUT: 'Connection setup got no answer from the remote address in time.',
  OVL_SETUP_REFUSED: 'The remote node refused connection setup (it is at its limit of half-open setups).',
  OVL_SETUP_LIMIT: 'This node is at its own limit of pending outbound setups.',
  OVL_SETUP_ADDRESS: 'The address to dial is not an IPv4 address, or its host name does not resolve to one in time.',
  OVL_SELF_CONNECT: 'A node was asked to connect to itself.',

  // session: TLS 1.3 and the Ed25519 binding
  OVL_HANDSHAKE_TIMEOUT: 'TLS and binding did not complete within the handshake timeout.',
  OVL_TLS_HANDSHAKE_FAILED: 'The TLS handshake failed (not TLS, corrupt records, or an unexpected alert).',
  OVL_TLS_VERSION: 'The peer offered a TLS version other than 1.3.',
  OVL_CERT_UNTRUSTED: 'The peer certificate is not signed by this network CA.',
  OVL_CERT_EXPIRED: 'The peer certificate has expired.',
  OVL_CERT_NOT_YET_VALID: 'The peer certificate is not valid yet (check clocks).',
  OVL_CERT_MISSING: 'The peer presented no certificate.',
  OVL_CERT_REJECTED: 'The peer certificate was rejected for another reason (usage, form, or a bad-certificate alert).',
  OVL_BINDING_KEY_MISMATCH: 'The Ed25519 key that signed the binding is not the key named in the peer certificate.',
  OVL_BINDING_INVALID: 'The binding signature does not verify for this session (forged, or replayed from another session).',
  OVL_PEER_REVOKED: 'The peer node id is on the revocation list.',
  OVL_DUPLICATE_SESSION: 'A second session to the same peer was closed in favour of the one kept by the tie-break.',

  // frames and messages
  OVL_FRAME_TOO_LARGE: 'A frame announced a length above the frame size limit; refused before buffering.',
  OVL_FRAME_TRUNCATED: 'The stream ended in the middle of a frame.',
  OVL_SESSION_TRUNCATED: "The peer's stream ended without its END or CLOSE frame: cut short on the way (an END or reset that the peer did not send), or by the peer itself: it crashed or was aborted, or reset the stream when its handshake timeout passed before the session was up on its side.",
  OVL_FRAME_MALFORMED: 'A frame or message body does not decode.',
  OVL_FRAME_VERSION: 'A frame carries a protocol version this node does not speak.',
  OVL_SESSION_RECORD_INVALID: 'A sealed session record failed authentication: altered, replayed, reordered, or not sealed by the peer.',
  OVL_SESSION_RECORD_MALFORMED: 'A session record has an unknown kind or a length outside its limits, or arrived when that kind is not allowed.',
  OVL_MESSAGE_UNKNOWN_TYPE: 'A frame carries a message type this node does not know.',
  OVL_MESSAGE_UNEXPECTED: 'A message arrived in a state where it is not allowed (for example data before authentication).',

  // overlay
  OVL_HEARTBEAT_TIMEOUT: 'Nothing was heard from a peer for the heartbeat timeout: it is declared down.',
  OVL_PEER_LEFT: 'The peer left the network gracefully (it sent LEAVE).',
  OVL_PEER_LIMIT: 'The peer is at its limit of sessions; it sent records of other peers to try instead.',
  OVL_PEER_UNKNOWN: 'No known node matches the given node id, id prefix, name or address.',
  OVL_PEER_AMBIGUOUS: 'More than one known node matches the given prefix or name; give more of the node id.',
  OVL_NO_ROUTE: 'This node has no session to send the message through.',
  OVL_DELIVERY_TIMEOUT: 'The target did not acknowledge the message in time (offline or unreachable).',
  OVL_DELIVERY_REFUSED: 'The target refused the message: the sender is over its rate limit there.',
  OVL_PENDING_LIMIT: 'Too many messages are waiting for an acknowledgement; retry when some have been answered.',
  OVL_PUNCH_FAILED: 'No path could be punched to the peer in time (or too many punches are in progress).',
  OVL_PUNCH_IMPOSSIBLE: 'Both ends are behind hard (symmetric) NATs: no direct path can be punched; a relay is needed.',
  OVL_RELAY_REFUSED: 'The relay refused to relay the session (its limits, or the other end is unknown to it), or ended it before both ends had joined.',
  OVL_RELAY_FAILED: 'A relayed session could not be set up in time.',
  OVL_RELAY_ENDED: 'The relay stopped relaying the session (its time or byte limit, no traffic, the other end\'s session with it closed, or it stopped) and said so: the session closes at once, not at the heartbeat timeout.',
  OVL_UNREACHABLE: 'The peer could not be reached: direct dials, hole punching and relays all failed (each reason is given).',
  OVL_RECORD_INVALID: 'A peer record does not verify or names another node than the session it came on.',

  // nat: STUN, NAT behaviour (netcheck), UPnP port mapping
  OVL_STUN_TIMEOUT: 'A STUN server did not answer a Binding request in time (retransmitted with backoff): it is down, or UDP to it is blocked.',
  OVL_STUN_ERROR_RESPONSE: 'A STUN server answered a Binding request with an error response (its STUN error code is in the message).',
  OVL_STUN_BAD_RESPONSE: "A STUN server's answer to our transaction did not decode, failed its FINGERPRINT, or named no mapped address.",
  OVL_STUN_LIMIT: 'Too many STUN transactions are waiting for an answer on this socket; retry when some have been answered.',
  OVL_STUN_CLOSED: 'The STUN endpoint was closed (its socket is closing) while a query waited for an answer.',
  OVL_STUN_SERVER_INVALID: 'A STUN server is not HOST:PORT, or its host name does not resolve to an IPv4 address.',
  OVL_NETCHECK_NO_SERVERS: 'netcheck has no STUN server to ask: none in the config (stun:), none given with --stun, and no bootstrap peers.',
  OVL_UPNP_NO_GATEWAY: 'No UPnP gateway answered the SSDP search in time (no IGD on the LAN, or UPnP is off on the router).',
  OVL_UPNP_REQUEST_FAILED: 'The UPnP gateway refused or failed a request (AddPortMapping, GetExternalIPAddress, ...), or did not answer it in time.',
  OVL_UPNP_PORT_TAKEN: 'Every external port tried is already mapped to another host on the UPnP gateway.',
  OVL_UPNP_EXTERNAL_PRIVATE: "The UPnP gateway's external address is private or carrier-grade NAT space: another NAT is in front of it, so its mapping cannot be reached from the internet.",
  OVL_UPNP_UNVERIFIED: 'The UPnP-mapped address did not work when checked (nothing came through it), so it is not advertised.',
  OVL_UPNP_LOST: "A UPnP mapping could not be renewed, or the gateway's external address changed: it is no longer advertised.",

  // operator services: dashboard, metrics, warnings
  OVL_DASHBOARD_BIND: 'The dashboard could not listen on its address (in use, or not available).',
  OVL_DASHBOARD_TOKEN_FILE: 'The dashboard token file is unreadable, malformed, or readable by other users (chmod 600).',
  OVL_DASHBOARD_UNAUTHORIZED: 'A dashboard or /metrics request came without a valid access token (the page itself also opens with the session cookie its printed URL sets).',
  OVL_DASHBOARD_HOST_REFUSED: "A dashboard request named a Host that is not the dashboard's own address: the guard against DNS rebinding.",
  OVL_DASHBOARD_ORIGIN_REFUSED: 'A dashboard request came from another origin or site; only the page itself may change state.',
  OVL_DASHBOARD_REQUEST_INVALID: 'A dashboard request was malformed: unknown path or method, wrong content type, body too large, or not the expected JSON.',
  OVL_DASHBOARD_BUSY: 'The dashboard already serves as many live clients as it allows; close another tab and retry.',
  OVL_METRIC_WARNING_MALFORMED: 'A METRIC_WARNING broadcast payload does not decode (version, metric, length or value); it is ignored.',

  // lifecycle
  OVL_SESSION_CLOSED: 'The session is closed.',
  OVL_NODE_CLOSED: 'The node is stopped; create a new one.',
  OVL_ABORTED: 'The operation was aborted by its signal.',
  OVL_TIMEOUT: 'The operation timed out.',
  OVL_INTERNAL: 'An unexpected internal error: a bug. Please report it with the log.',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** Where a failure was judged: here, or by the peer (who told us with an alert or a CLOSE frame). */
export type ErrorOrigin = 'local' | 'remote'

export class OverlayError extends Error {
  readonly code: ErrorCode
  readonly origin: ErrorOrigin

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; origin?: ErrorOrigin } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.origin = options.origin ?? 'local'
  }

  override get name(): string {
    return this.constructor.name
  }
}

/** Bad operator input: config files, flags, command arguments. */
export class ConfigError extends OverlayError {}
/** Identity, CA and certificate files. */
export class CredentialError extends OverlayError {}
/** Connection setup over UDP. */
export class SetupError extends OverlayError {}
/** TLS handshake, certificate checks, Ed25519 binding, revocation. */
export class HandshakeError extends OverlayError {}
/** Frames and messages that do not decode or are not allowed. */
export class ProtocolError extends OverlayError {}
/** A direct message that was not delivered, or could not be sent. */
export class DeliveryError extends OverlayError {}
/** The dashboard's HTTP server and its requests. */
export class DashboardError extends OverlayError {}
/** STUN, NAT behaviour checks and UPnP port mapping. */
export class NatError extends OverlayError {}
/** Use after close. */
export class ClosedError extends OverlayError {}
export class TimeoutError extends OverlayError {}
export class AbortError extends OverlayError {
  constructor(message = 'aborted') {
    super('OVL_ABORTED', message)
  }
}

/** The error an aborted operation rejects with: the signal's reason if it is ours, else OVL_ABORTED. */
export function abortError(signal: AbortSignal): OverlayError {
  const reason: unknown = signal.reason
  if (reason instanceof OverlayError) return reason
  const error = new AbortError(reason instanceof Error ? `aborted: ${reason.message}` : 'aborted')
  if (reason !== undefined) Object.defineProperty(error, 'cause', { value: reason })
  return error
}

export function isOverlayError(err: unknown): err is OverlayError {
  return err instanceof OverlayError
}
