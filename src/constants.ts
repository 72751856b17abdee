/**
 * Protocol constants and the defaults of every limit, with the reason for each.
 * Operator-tunable values are defaults only: config/ and docs/configuration.md
 * name the keys that override them.
 */

/** Version byte in every frame and control datagram. Bumped on incompatible change. */
export const PROTOCOL_VERSION = 1

/** ALPN protocol id: a TLS peer that speaks anything else is refused during the handshake. */
export const ALPN_PROTOCOL = 'p2p-overlay/1'

/** The URI prefix in a node certificate's subjectAltName that names the node's Ed25519 key. */
export const NODE_ID_URI_PREFIX = 'urn:overlay:node:'

/** Signed together with the role and the TLS exporter value (RFC 9266) in the binding. */
export const BINDING_LABEL = 'p2p-overlay binding v1'
export const TLS_EXPORTER_LABEL = 'EXPORTER-Channel-Binding'
export const TLS_EXPORTER_BYTES = 32

// --- frames ---------------------------------------------------------------

/** 4-byte length prefix, then version and type bytes. */
export const FRAME_HEADER_BYTES = 6
/** Largest frame a node accepts by default: big enough for a file chunk, small enough to bound memory per session. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
/** Outgoing frames written in one tick are batched into one TLS write up to this size. */
export const WRITE_BATCH_BYTES = 64 * 1024

// --- connection setup -------------------------------------------------------

/** Every setup request is padded to this size; no reply is larger, so setup cannot amplify. */
export const SETUP_REQUEST_BYTES = 64
/** Cookies are HMACs over the source address keyed by a secret that rotates this often. */
export const COOKIE_EPOCH_MS = 30_000
/** Half-open setups (stream allocated, session not yet authenticated), whole node. */
export const DEFAULT_MAX_HALF_OPEN = 128
/** Half-open setups from one source IP: one host cannot take the whole table. */
export const DEFAULT_MAX_HALF_OPEN_PER_SOURCE = 8
/** Pending outbound dials this node keeps. */
export const MAX_PENDING_DIALS = 256
/** First retransmission of a setup datagram; doubles up to the cap. */
export const SETUP_RETRY_INITIAL_MS = 200
export const SETUP_RETRY_MAX_MS = 2_000
/** Time to get through connection setup to a reachable address. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000
/** Time from stream allocation to an authenticated session (TLS + binding). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000

// --- datagram kinds (first byte of a UDP payload) ---------------------------

/** Our control datagrams. STUN starts with 0x00/0x01, UDX packets with 0xff. */
export const CONTROL_MAGIC = 0xa5
/** Path probes of a session (heartbeat PING/PONG outside the stream). */
export const PROBE_MAGIC = 0xa6
/** Hole-punch probes. */
export const PUNCH_MAGIC = 0xa7
export const UDX_MAGIC = 0xff

// --- the overlay ---------------------------------------------------------------

/** Records in one PEERS message: what one exchange can make a node verify and store. */
export const MAX_RECORDS_PER_EXCHANGE = 32
/** Hops a broadcast or routed message may take: the diameter of any overlay we expect, with room. */
export const DEFAULT_HOP_LIMIT = 16
/** Broadcast ids remembered for de-duplication (an lru-cache; the replay window covers the rest). */
export const BROADCAST_SEEN_MAX = 16_384
/** Origins whose replay windows are kept. */
export const BROADCAST_ORIGINS_MAX = 4_096
/** A broadcast whose seq (a time in microseconds) is older than this, or this far in the future, is refused. */
export const BROADCAST_MAX_AGE_MS = 10 * 60_000
/** Routed messages remembered (de-duplication and the way back for their ACK). */
export const ROUTED_SEEN_MAX = 16_384
/** Peers whose message budget (token bucket) is kept across their sessions (beyond this, the least recent starts afresh). */
export const PEER_BUCKETS_MAX = 4_096
/**
 * CHAT ids delivered, remembered per peer so that one sent again after its ACK
 * was lost is not delivered twice: 10 s of the default delivery limit (200 a
 * second), well over the time from a delivery to its resend (a drain and a
 * close, or a session declared dead and the next one up).
 */
export const CHAT_IDS_PER_PEER = 2_048
/**
 * Peers whose delivered CHAT ids are remembered, the most recent first. A
 * window takes 12 bytes an id (24 KiB when full, under 1 KiB for a peer that
 * sent a few): 24 MiB at most. A peer needs its window only for the seconds
 * between a delivery and its resend.
 */
export const CHAT_PEERS_MAX = 1_024
/** Messages this node waits on an ACK for, at once. */
export const MAX_PENDING_DELIVERIES = 1_024
/** How long a sender waits for an ACK: a stream on a lossy path can stall for seconds (RTO backoff), so well above that. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000
/** Learned routes (destination -> the peer it was last heard through). */
export const ROUTES_MAX = 16_384
/**
 * How long a session the duplicate tie-break replaced, after it was taken up, is
 * still read before it is closed: the peer's acknowledgements (and messages)
 * sent on it before it took up the replacement too, a round trip and a
 * handshake at most, are still heard.
 */
export const DUPLICATE_DRAIN_MS = 2_000

// --- NAT traversal -------------------------------------------------------------

/** Sockets a node behind a hard NAT opens for a birthday punch (HyperDHT uses 256). */
export const BIRTHDAY_POOL_SIZE = 256
/**
 * Probes the easy side sprays at random ports of the hard side: with 256
 * mappings among 64,512 ports, 2,000 probes find one with 99.96 % probability.
 */
export const BIRTHDAY_SPRAY_PROBES = 2_000
export const BIRTHDAY_SPRAY_PER_SECOND = 400
/** A punch round: every candidate gets a probe this often. */
export const PUNCH_INTERVAL_MS = 100
/** Give up on a punch after this long (the birthday spray takes 5 s of it). */
export const PUNCH_TIMEOUT_MS = 10_000
/** Answer probes this long after a path was found (our ACK may have been lost). */
export const PUNCH_LINGER_MS = 5_000
/** Punch attempts a node runs at once (each answers SIGNALs and holds timers). */
export const MAX_PUNCH_ATTEMPTS = 8
/** Birthday pools open at once (256 sockets each). */
export const MAX_BIRTHDAY_POOLS = 1
/** Relay: sessions relayed at once, in all and per node asking; how long and how many bytes each may carry. */
export const DEFAULT_RELAY_MAX_SESSIONS = 64
export const DEFAULT_RELAY_MAX_PER_NODE = 8
export const DEFAULT_RELAY_MAX_DURATION_MS = 60 * 60_000
export const DEFAULT_RELAY_MAX_BYTES = 1024 * 1024 * 1024
/** How long a relay holds streams allocated for two ends that have not both joined. */
export const RELAY_JOIN_TIMEOUT_MS = 10_000
/** How often a relay checks the bytes each relayed session moved. */
export const RELAY_METER_INTERVAL_MS = 5_000
