/** One error class for the lab, with stable codes: tests match on `code`, never on text. */

export const LAB_ERROR_CODES = {
  LAB_UNAVAILABLE: 'The lab cannot run here (not root, not Linux, no network namespaces, or a tool missing).',
  LAB_COMMAND_FAILED: 'A command (ip, nft, sysctl, conntrack, ...) exited non-zero.',
  LAB_TIMEOUT: 'A lab operation or an awaited event did not happen in time.',
  LAB_BAD_NAME: 'A host name is malformed or already used in this lab.',
  LAB_EXHAUSTED: 'The lab ran out of addresses of a kind.',
  LAB_DESTROYED: 'The lab was destroyed; create a new one.',
  LAB_PROBE_FAILED: 'A helper program in a namespace (UDP probe, UPnP client) reported an error or died.',
} as const

export type LabErrorCode = keyof typeof LAB_ERROR_CODES

export class LabError extends Error {
  override readonly name = 'LabError'
  constructor(
    readonly code: LabErrorCode,
    message: string,
  ) {
    super(message)
  }
}
