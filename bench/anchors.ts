/**
 * What the systems the overlay is measured against do (the anchors),
 * with where each figure comes from. The network sections print them next to
 * their own figures and write them under sections.<name>.data.anchors.
 */
export const ANCHORS = {
  /** libp2p gossipsub v1.0: mesh degree D = 6, so each node sends a message to about 6 peers. */
  gossipsub_frames_per_node: 6,
  /** hashicorp/memberlist (LAN defaults: 1 s probe interval, suspicion): a failed member is declared dead 1.5 to 8 s after it stops. */
  memberlist_detect_min_ms: 1_500,
  memberlist_detect_max_ms: 8_000,
  /** Tailscale magicsock: a direct UDP path is trusted for 6.5 s after it was last heard (trustUDPAddrDuration). */
  tailscale_trust_ms: 6_500,
  /** Nebula connection manager: a tunnel with no answer is torn down after about 15 s. */
  nebula_dead_tunnel_ms: 15_000,
} as const
