/**
 * Limits and defaults of the nat layer (STUN, NAT classification, UPnP), with
 * the reason for each. Everything a remote host controls has a limit here.
 */

// --- STUN (RFC 8489; RFC 5389 and RFC 3489 clients are answered too) ----------

/** First bytes of STUN messages: the two top bits of a STUN message are zero, and methods above 0x0ff are not used. */
export const STUN_FIRST_BYTES = [0x00, 0x01] as const
/** STUN header: type, length, magic cookie, transaction id. */
export const STUN_HEADER_BYTES = 20
export const STUN_MAGIC_COOKIE = 0x2112a442
export const STUN_TRANSACTION_ID_BYTES = 12

/**
 * Largest STUN datagram looked at, request or response. RFC 8489 section 6.1:
 * without path MTU knowledge, messages should stay under 576 bytes over IPv4.
 * A Binding request is 20 to about 100 bytes; coturn's answers are about 100.
 */
export const STUN_MAX_MESSAGE_BYTES = 576
/** Attributes walked in one message before it is refused as malformed. */
export const STUN_MAX_ATTRIBUTES = 32

/**
 * The amplification cap: no STUN answer this node sends is larger. A Binding
 * success is 32 bytes (header + XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS for an
 * RFC 3489 request), 40 with FINGERPRINT (only when the request, then at least
 * 28 bytes, had one). A 420 error lists at most STUN_MAX_UNKNOWN_LISTED
 * attributes and fits in 64 with FINGERPRINT; it answers only requests of 24
 * bytes or more. An answer that would be larger is not sent.
 */
export const STUN_MAX_ANSWER_BYTES = 64
/** Unknown comprehension-required attributes named in a 420 answer (the rest are left out to stay under the cap). */
export const STUN_MAX_UNKNOWN_LISTED = 2

/**
 * Answers per second to one source IP, and the burst. Enough for a netcheck
 * (a few servers, a few retransmissions) from many hosts behind one carrier
 * NAT; a spoofed victim gets at most this many 64-byte answers a second.
 */
export const STUN_ANSWERS_PER_SOURCE_PER_SECOND = 20
export const STUN_ANSWERS_PER_SOURCE_BURST = 40
/** Answers per second from the whole node: bounds what many spoofed sources can make it send (128 KB/s at the cap). */
export const STUN_ANSWERS_PER_SECOND = 2_000
/** Source IPs whose rate-limit buckets are kept (least recently seen forgotten first). */
export const STUN_RATE_LIMIT_SOURCES = 4_096

/**
 * First retransmission of a Binding request; doubles each time. RFC 8489
 * section 6.2.1: the initial RTO should be at least 500 ms.
 */
export const STUN_DEFAULT_RTO_MS = 500
/** Longest gap between two retransmissions. */
export const STUN_MAX_RTO_MS = 4_000
/** A query gives up after this long without an answer. */
export const STUN_DEFAULT_TIMEOUT_MS = 5_000
/** Transactions (one per transmission) waiting for an answer at once, the whole endpoint. */
export const STUN_MAX_PENDING_TRANSACTIONS = 256
/** Transaction ids of finished queries remembered, so late answers to retransmissions are told apart from unsolicited ones. */
export const STUN_FINISHED_REMEMBERED = 256
export const STUN_FINISHED_TTL_MS = 30_000

// --- netcheck -------------------------------------------------------------------

/** Time a netcheck waits for STUN answers (and the UPnP gateway), in total. */
export const NETCHECK_DEFAULT_TIMEOUT_MS = 3_000
/** STUN servers asked in one netcheck: each answer is one more query in flight. */
export const NETCHECK_MAX_SERVERS = 16
/** The well-known STUN port (RFC 8489 section 18.7), for servers given without one. */
export const STUN_DEFAULT_PORT = 3478

// --- UPnP IGD (nat-upnp) ----------------------------------------------------------

/** SSDP search for the gateway: miniupnpd answers M-SEARCH (MX 1) within a second; nat-upnp's own default is 1.8 s. */
export const UPNP_DISCOVERY_TIMEOUT_MS = 3_000
/** One SOAP request to the gateway (nat-upnp's HTTP client has no timeout of its own). */
export const UPNP_REQUEST_TIMEOUT_MS = 5_000
/** Lease asked for a mapping; renewed at half of it. Short enough that a crashed node's mapping goes away. */
export const UPNP_DEFAULT_LEASE_S = 1_800
/** Renew when this share of the lease has passed. */
export const UPNP_RENEW_AT = 0.5
/** After a failed attempt (no gateway, refused, unverified), try again after this long. */
export const UPNP_DEFAULT_RETRY_MS = 5 * 60_000
/** External ports tried when the local port is taken on the gateway (the local port first). */
export const UPNP_PORT_ATTEMPTS = 4
/** Ports miniupnpd's default rules let a LAN host map (and the IANA dynamic/registered range). */
export const UPNP_MIN_PORT = 1024
/** How long stop() waits for DeletePortMapping before it gives up (the lease ends the mapping anyway). */
export const UPNP_STOP_TIMEOUT_MS = 3_000
/** Shown in the gateway's mapping table. */
export const UPNP_DESCRIPTION = 'p2p-overlay'
