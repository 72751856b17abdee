/** What the UPnP client program (igd-client.ts) is asked, and what it answers. */

export type UpnpRequest =
  | { op: 'externalIp' }
  | { op: 'map'; public: number; private: number; protocol: 'udp' | 'tcp'; ttlSeconds: number; description?: string }
  | { op: 'unmap'; public: number; protocol: 'udp' | 'tcp' }
  | { op: 'mappings' }

export interface UpnpMapping {
  public: { host: string; port: number }
  private: { host: string; port: number }
  protocol: string
  enabled: boolean
  description: string
  ttl: number
}

export type UpnpAnswer =
  | { ok: true; op: 'externalIp'; ip: string }
  | { ok: true; op: 'map' }
  | { ok: true; op: 'unmap' }
  | { ok: true; op: 'mappings'; mappings: UpnpMapping[] }
  | { ok: false; error: string }
