/**
 * The nat layer: STUN on the node's one socket, NAT behaviour (netcheck),
 * UPnP port mapping. What the node composes:
 *
 *   const stun = new StunEndpoint({ socket })              // owns first bytes 0x00/0x01
 *   stun.on('dropped', (reason, from) => emit('input:rejected', reason, from))
 *   const report = await netcheck({ stun, servers, local: localAddresses(socket.address()) })
 *   const upnp = new UpnpMapper({ localPort, verify }); upnp.start(); ...; await upnp.stop()
 */
export { classifyNat, type NatBehaviour, type NatClassification, type StunObservation } from './classify.js'
export { localAddresses, isNonPublicIPv4 } from './local.js'
export { netcheck, type NetcheckInit, type NetcheckReport, type ServerReport } from './netcheck.js'
export { parseServer, resolveServer, lookupIPv4, type Resolver } from './resolve.js'
export { StunEndpoint, type StunEndpointEvents, type StunEndpointInit, type StunSocket } from './stun/endpoint.js'
export { StunErrorResponse, type StunAnswer, type StunQueryOptions } from './stun/client.js'
export type { StunDropReason } from './stun/wire.js'
export type { StunRateLimits } from './stun/rate-limit.js'
export { probeUpnp, type UpnpProbe } from './upnp/probe.js'
export { UpnpMapper, type UpnpMapperEvents, type UpnpMapperInit, type UpnpMapping } from './upnp/mapper.js'
