/** One network namespace and the commands run inside it. */
import { run, runOk, runSync, type ExecOptions, type ExecResult } from './run.js'

/** Set in every new lab namespace: no IPv6 (nothing in the lab uses it), no reverse-path filter. */
const NAMESPACE_SYSCTLS = {
  'net.ipv6.conf.all.disable_ipv6': 1,
  'net.ipv6.conf.default.disable_ipv6': 1,
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.rp_filter': 0,
}

export class Netns {
  constructor(readonly name: string) {}

  /** argv run inside this namespace. */
  argv(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...argv]
  }

  run(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return run(this.argv(argv), options)
  }

  runOk(argv: readonly string[], options?: ExecOptions): Promise<string> {
    return runOk(this.argv(argv), options)
  }

  /** `ip` commands in this namespace, one per line, in one process. */
  ip(...lines: string[]): Promise<string> {
    return runOk(['ip', '-n', this.name, '-batch', '-'], { input: lines.join('\n') + '\n' })
  }

  /** Loads an nftables script (one atomic transaction). */
  nft(script: string): Promise<string> {
    return this.runOk(['nft', '-f', '-'], { input: script })
  }

  sysctl(settings: Readonly<Record<string, string | number>>): Promise<string> {
    return this.runOk(['sysctl', '-q', '-e', '-w', ...Object.entries(settings).map(([key, value]) => `${key}=${value}`)])
  }

  /** Pids of the processes inside this namespace. */
  async pids(): Promise<number[]> {
    return parsePids((await run(['ip', 'netns', 'pids', this.name])).stdout)
  }
}

export async function createNamespace(name: string): Promise<Netns> {
  await runOk(['ip', 'netns', 'add', name])
  const ns = new Netns(name)
  await ns.ip('link set lo up')
  await ns.sysctl(NAMESPACE_SYSCTLS)
  return ns
}

/** Kills whatever runs in the namespace, then deletes it. Never throws: a missing namespace is fine. */
export async function deleteNamespace(name: string): Promise<void> {
  killAll(parsePids((await run(['ip', 'netns', 'pids', name])).stdout))
  await run(['ip', 'netns', 'delete', name])
}

export function deleteNamespaceSync(name: string): void {
  killAll(parsePids(runSync(['ip', 'netns', 'pids', name]).stdout))
  runSync(['ip', 'netns', 'delete', name])
}

export async function listNamespaces(): Promise<string[]> {
  return parseNamespaceList((await run(['ip', 'netns', 'list'])).stdout)
}

export function listNamespacesSync(): string[] {
  return parseNamespaceList(runSync(['ip', 'netns', 'list']).stdout)
}

/** `ip netns list` prints "NAME" or "NAME (id: N)" per line. */
function parseNamespaceList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '')
}

function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((word) => /^\d+$/.test(word))
    .map(Number)
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}
