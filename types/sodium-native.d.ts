/** The part of sodium-native (libsodium bindings) the session record layer uses. */
declare module 'sodium-native' {
  /** Writes ciphertext and tag to `c` (m.length + 16 bytes); `c` may be `m` itself, shifted by nothing. Returns c's length. */
  export function crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number
  /** Writes the plaintext to `m`; throws if the tag does not verify. Returns m's length. */
  export function crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number
  export const crypto_aead_chacha20poly1305_ietf_ABYTES: number
  export const crypto_aead_chacha20poly1305_ietf_KEYBYTES: number
  export const crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number
}
