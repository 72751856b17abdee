/** What the soak and its node processes say to each other over IPC. */

export interface ProbeRequest {
  type: 'sample'
  id: number
}

/** A node process's own view of its resources, taken right after a full GC. */
export interface ProcessSample {
  type: 'sample'
  id: number
  /** false: global.gc was not available, heap figures include garbage. */
  afterGc: boolean
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  /** process.getActiveResourcesInfo() by type: handles, requests, ref'ed timers. */
  resources: Record<string, number>
  /** Timers armed now, unref'ed ones included. */
  timers: number
  timersCreated: number
}
