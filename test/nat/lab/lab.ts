/**
 * A topology of real network namespaces: an "internet" segment, open hosts on
 * it, and hosts behind NATs made of nftables. See index.ts for an example.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { AddressPlan, type LanPlan } from './addresses.js'
import { HOST_IF, HOST_NAME_PATTERN, INTERNET_NET, INTERNET_PREFIX_LEN, INTERNET_ROUTER, KILL_GRACE_MS, LAN_IF, REPO_ROOT, UPNP_HTTP_PORT, WAN_IF } from './constants.js'
import { LabError } from './errors.js'
import { destroyOnExit } from './exit-cleanup.js'
import { startMiniupnpd, type Miniupnpd } from './miniupnpd.js'
import { newLabPrefix, sweepStale } from './names.js'
import { Nat } from './nat.js'
import { createNamespace, deleteNamespace, deleteNamespaceSync, Netns } from './netns.js'
import { natRuleset, type NatRules } from './nft.js'
import { labEnv, type ExecOptions, type ExecResult } from './run.js'
import { labSupport } from './support.js'
import type { LabSpawnOptions, NatKind, NattedHost, NattedHostOptions, PublicHost, Where } from './types.js'
import { wireExternalToInternet, wireInternet, wireLan, wireToInternet, wireToLan } from './wiring.js'

/** How a NAT's WAN side is connected. */
type Uplink = { to: 'internet' } | { to: 'internet-external' } | { to: 'lan'; of: NatBox }

/** A NAT with what the lab needs to plug more things into its LAN. */
interface NatBox {
  nat: Nat
  netns: Netns
  lan: LanPlan
  gateway: string
}

const RULES: Record<'easy' | 'hard' | 'udp-blocked', Omit<NatRules, 'wan'>> = {
  easy: { randomPorts: false, blockUdp: false },
  hard: { randomPorts: true, blockUdp: false },
  'udp-blocked': { randomPorts: false, blockUdp: true },
}

export class Lab {
  /** Every namespace of this lab starts with it, e.g. `ovl-4242-0-`. */
  readonly prefix: string
  /** The internet segment: a bridge in its own namespace, with a router. */
  readonly internet: { readonly ns: string; readonly cidr: string; readonly router: string }

  readonly #plan = new AddressPlan()
  readonly #internetNs: Netns
  readonly #namespaces: string[] = []
  readonly #children = new Set<ChildProcess>()
  readonly #boxes = new Map<Nat, NatBox>()
  readonly #tmpDir: string
  readonly #untrack: () => void
  #ports = 0
  #destroyed: Promise<void> | undefined

  private constructor(prefix: string) {
    this.prefix = prefix
    this.#tmpDir = mkdtempSync(path.join(os.tmpdir(), prefix))
    this.#internetNs = new Netns(this.#reserve('inet'))
    this.internet = { ns: this.#internetNs.name, cidr: `${INTERNET_NET}.0/${INTERNET_PREFIX_LEN}`, router: INTERNET_ROUTER }
    this.#untrack = destroyOnExit(this)
  }

  /**
   * A new lab. With `t`, it is destroyed in t's after hook (also when the test
   * fails); it is also destroyed on process exit, SIGINT, SIGTERM and SIGHUP.
   * Sweeps namespaces left by crashed runs first. Throws LAB_UNAVAILABLE where
   * the lab cannot run (see requireLab for tests).
   */
  static async create(t?: TestContext): Promise<Lab> {
    const support = await labSupport()
    if (!support.ok) throw new LabError('LAB_UNAVAILABLE', `the NAT lab cannot run: ${support.reason}`)
    await sweepStale()
    const lab = new Lab(newLabPrefix())
    t?.after(() => lab.destroy())
    try {
      await createNamespace(lab.#internetNs.name)
      await wireInternet(lab.#internetNs)
    } catch (error) {
      await lab.destroy()
      throw error
    }
    return lab
  }

  /** The namespaces this lab has made so far. */
  get namespaces(): readonly string[] {
    return [...this.#namespaces]
  }

  /** A host directly on the internet segment (no NAT), 198.18.0.N. */
  async addPublicHost(name: string): Promise<PublicHost> {
    const netns = new Netns(this.#reserve(checkName(name)))
    const address = this.#plan.internetAddress()
    await this.#create(netns)
    await wireToInternet(this.#internetNs, this.#port(), netns, HOST_IF, address)
    return { name, ns: netns.name, address, natType: 'open' }
  }

  /** A host on its own home LAN (198.19.N.0/24) behind a NAT of the given kind. */
  async addNattedHost(name: string, kind: NatKind, options: NattedHostOptions = {}): Promise<NattedHost> {
    checkName(name)
    const hostNs = new Netns(this.#reserve(name))
    let boxes: NatBox[]
    let upnp: Miniupnpd | undefined
    switch (kind) {
      case 'easy':
      case 'hard':
      case 'udp-blocked':
        boxes = [await this.#addNat(`${name}-nat`, RULES[kind], { to: 'internet' })]
        break
      case 'double': {
        const carrier = await this.#addNat(`${name}-cgn`, RULES.easy, { to: 'internet' })
        boxes = [await this.#addNat(`${name}-nat`, RULES.easy, { to: 'lan', of: carrier }), carrier]
        break
      }
      case 'upnp': {
        const box = await this.#addNat(`${name}-nat`, RULES.easy, { to: 'internet-external' })
        upnp = await startMiniupnpd({
          netns: box.netns,
          spawn: (ns, argv) => this.spawn(ns, argv),
          dir: path.join(this.#tmpDir, box.nat.name),
          wanIf: WAN_IF,
          lanIf: LAN_IF,
          lanCidr: box.lan.cidr,
          externalAddress: box.nat.wanAddress,
          httpPort: UPNP_HTTP_PORT,
        })
        boxes = [box]
        break
      }
      default:
        return assertNever(kind)
    }
    const home = boxes[0]!
    const nats = boxes.map((box) => box.nat)
    if (options.udpTimeouts) for (const nat of nats) await nat.setUdpTimeouts(options.udpTimeouts)
    if (options.lossPercent) await home.nat.setLoss(options.lossPercent)
    const address = await this.#plugIntoLan(home, hostNs)
    return { name, ns: hostNs.name, address, natType: kind, gateway: home.gateway, nat: home.nat, nats, publicAddress: nats[nats.length - 1]!.wanAddress, ...(upnp ? { upnp } : {}) }
  }

  /** Another host on the same home LAN as `neighbour` (behind the same NAT or NATs). */
  async addLanHost(name: string, neighbour: NattedHost): Promise<NattedHost> {
    const hostNs = new Netns(this.#reserve(checkName(name)))
    const box = this.#boxes.get(neighbour.nat)
    if (!box) throw new LabError('LAB_BAD_NAME', `${neighbour.name} is not a host of this lab`)
    const address = await this.#plugIntoLan(box, hostNs)
    return { ...neighbour, name, ns: hostNs.name, address }
  }

  /** Runs argv inside a lab namespace; never throws for a non-zero exit. */
  exec(where: Where, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return new Netns(this.#own(where)).run(argv, options)
  }

  /** Starts argv inside a lab namespace (cwd: the repository root). The lab kills it at destroy. */
  spawn(where: Where, argv: readonly string[], options: LabSpawnOptions = {}): ChildProcess {
    const ns = this.#own(where)
    if (this.#destroyed) throw new LabError('LAB_DESTROYED', 'spawn after destroy')
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: options.cwd ?? REPO_ROOT, env: labEnv(options.env), stdio: options.stdio ?? 'pipe' })
    this.#children.add(child)
    child.once('close', () => this.#children.delete(child))
    return child
  }

  /** `node --import tsx ...args` inside a namespace: a TypeScript program, or bin/overlay.js. */
  spawnNode(where: Where, args: readonly string[], options?: LabSpawnOptions): ChildProcess {
    return this.spawn(where, [process.execPath, '--import', 'tsx', ...args], options)
  }

  /** Kills every spawned process and deletes every namespace. Idempotent: a second call returns the first one's promise. */
  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      await this.#stopChildren()
      await Promise.all(this.#namespaces.map((ns) => deleteNamespace(ns)))
      rmSync(this.#tmpDir, { recursive: true, force: true })
      this.#untrack()
    })()
    return this.#destroyed
  }

  /** For the exit handler: no waiting, nothing async. */
  destroySync(): void {
    this.#destroyed ??= Promise.resolve()
    for (const child of this.#children) child.kill('SIGKILL')
    for (const ns of this.#namespaces) deleteNamespaceSync(ns)
    rmSync(this.#tmpDir, { recursive: true, force: true })
    this.#untrack()
  }

  async #addNat(name: string, behaviour: Omit<NatRules, 'wan'>, uplink: Uplink): Promise<NatBox> {
    const netns = new Netns(this.#reserve(name))
    const rules: NatRules = { wan: WAN_IF, ...behaviour }
    const lan = this.#plan.lan()
    const gateway = lan.gateway
    await this.#create(netns)
    await netns.sysctl({ 'net.ipv4.ip_forward': 1 })
    await netns.nft(natRuleset(rules))
    let wanAddress: string
    switch (uplink.to) {
      case 'internet':
        wanAddress = this.#plan.internetAddress()
        await wireToInternet(this.#internetNs, this.#port(), netns, WAN_IF, wanAddress)
        break
      case 'internet-external':
        wanAddress = this.#plan.upnpExternalAddress()
        await wireExternalToInternet(this.#internetNs, this.#port(), netns, WAN_IF, wanAddress)
        break
      case 'lan':
        wanAddress = uplink.of.lan.nextHost()
        await wireToLan(uplink.of.netns, this.#port(), netns, wanAddress, uplink.of.gateway, WAN_IF)
        break
      default:
        return assertNever(uplink)
    }
    await wireLan(netns, gateway)
    const nat = new Nat({ name, netns, rules, wanAddress, lanAddress: gateway, lanCidr: lan.cidr })
    const box = { nat, netns, lan, gateway }
    this.#boxes.set(nat, box)
    return box
  }

  async #plugIntoLan(box: NatBox, hostNs: Netns): Promise<string> {
    const address = box.lan.nextHost()
    await this.#create(hostNs)
    await wireToLan(box.netns, this.#port(), hostNs, address, box.gateway)
    return address
  }

  /** Claims a namespace name (synchronously, so concurrent builders cannot both take it). */
  #reserve(suffix: string): string {
    if (this.#destroyed) throw new LabError('LAB_DESTROYED', 'the lab was destroyed')
    const ns = this.prefix + suffix
    if (this.#namespaces.includes(ns)) throw new LabError('LAB_BAD_NAME', `${suffix} is already used in this lab`)
    this.#namespaces.push(ns)
    return ns
  }

  async #create(netns: Netns): Promise<void> {
    if (this.#destroyed) throw new LabError('LAB_DESTROYED', 'the lab was destroyed')
    await createNamespace(netns.name)
  }

  /** A fresh veth name for the bridge side (unique within the lab, so within each namespace). */
  #port(): string {
    return `v${this.#ports++}`
  }

  #own(where: Where): string {
    const ns = typeof where === 'string' ? where : where.ns
    if (!this.#namespaces.includes(ns)) throw new LabError('LAB_BAD_NAME', `${ns} is not a namespace of this lab`)
    return ns
  }

  async #stopChildren(): Promise<void> {
    const running = [...this.#children].filter((child) => child.pid !== undefined && child.exitCode === null && child.signalCode === null)
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            child.kill('SIGTERM')
          }),
      ),
    )
  }
}

function checkName(name: string): string {
  if (!HOST_NAME_PATTERN.test(name)) throw new LabError('LAB_BAD_NAME', `host name ${JSON.stringify(name)}: use 1-12 lowercase letters and digits, starting with a letter`)
  return name
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`)
}
