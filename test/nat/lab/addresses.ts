/** Hands out the lab's addresses and LAN numbers; synchronous, so concurrent builders never collide. */
import {
  FIRST_INTERNET_HOST,
  FIRST_LAN_HOST,
  HOME_NET_BASE,
  INTERNET_NET,
  LAST_HOME_NET,
  LAST_INTERNET_HOST,
  LAN_GATEWAY_HOST,
  LAST_UPNP_EXTERNAL,
  UPNP_EXTERNAL_NET,
} from './constants.js'
import { LabError } from './errors.js'

export interface LanPlan {
  /** 198.19.N */
  readonly net: string
  readonly cidr: string
  /** The NAT's address on this LAN, 198.19.N.1. */
  readonly gateway: string
  nextHost(): string
}

export class AddressPlan {
  #internetHost = FIRST_INTERNET_HOST
  #homeNet = 1
  #upnpExternal = 1

  /** The next free address on the internet segment, 198.18.0.N. */
  internetAddress(): string {
    if (this.#internetHost > LAST_INTERNET_HOST) throw new LabError('LAB_EXHAUSTED', 'no internet addresses left')
    return `${INTERNET_NET}.${this.#internetHost++}`
  }

  /** A new home or carrier LAN, 198.19.N.0/24; its hosts from .2 (the NAT is .1). */
  lan(): LanPlan {
    if (this.#homeNet > LAST_HOME_NET) throw new LabError('LAB_EXHAUSTED', 'no home networks left')
    const net = `${HOME_NET_BASE}.${this.#homeNet++}`
    let host = FIRST_LAN_HOST
    return {
      net,
      cidr: `${net}.0/24`,
      gateway: `${net}.${LAN_GATEWAY_HOST}`,
      nextHost: () => {
        if (host > 254) throw new LabError('LAB_EXHAUSTED', `no addresses left on ${net}.0/24`)
        return `${net}.${host++}`
      },
    }
  }

  /** A non-reserved external address for a UPnP gateway (see UPNP_EXTERNAL_NET). */
  upnpExternalAddress(): string {
    if (this.#upnpExternal > LAST_UPNP_EXTERNAL) throw new LabError('LAB_EXHAUSTED', 'no UPnP external addresses left')
    return `${UPNP_EXTERNAL_NET}.${this.#upnpExternal++}`
  }
}
