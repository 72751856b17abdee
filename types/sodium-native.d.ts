/** The part of sodium-native (libsodium bindings) the overlay uses: the session records' cipher and Ed25519 signatures. */
declare module 'sodium-native' {
  /** Writes ciphertext and tag to `c` (m.length + 16 bytes); `c` may be `m` itself, shifted by nothing. Returns c's length. */
  export function crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number
  /** Writes the plaintext to `m`; throws if the tag does not verify. Returns m's length. */
  export function crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number
  export const crypto_aead_chacha20poly1305_ietf_ABYTES: number
  export const crypto_aead_chacha20poly1305_ietf_KEYBYTES: number
  export const crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number
  /** Derives the key pair of a 32-byte seed: `sk` gets the seed then the public key (64 bytes). */
  export function crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  /** Writes the 64-byte Ed25519 signature of `m` to `sig`. */
  export function crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void
  /** True if `sig` is a valid signature of `m` by `pk` (throws only on wrong lengths). */
  export function crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean
  export const crypto_sign_BYTES: number
  export const crypto_sign_PUBLICKEYBYTES: number
  export const crypto_sign_SECRETKEYBYTES: number
  export const crypto_sign_SEEDBYTES: number
}
