/** What the benchmark ran on: recorded next to the figures so runs can be compared. */
import fs from 'node:fs'
import os from 'node:os'

export interface MachineInfo {
  cpu_model: string
  cores: number
  cpu_mhz: number
  memory_gib: number
  node_version: string
  v8_version: string
  openssl_version: string
  udx_native_version: string
  os: string
  kernel: string
  arch: string
  hostname_hash: string
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(fs.readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function osName(): string {
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8')
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)
    if (pretty?.[1]) return pretty[1]
  } catch {
    // not Linux, or no os-release: fall back to the kernel name
  }
  return `${os.type()} ${os.release()}`
}

/** A short stable tag for the host, so two result files from one machine can be recognised without naming it. */
function hostTag(): string {
  let hash = 0
  for (const ch of os.hostname()) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0
  return hash.toString(16).padStart(8, '0')
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    cpu_mhz: cpus[0]?.speed ?? 0,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node_version: process.version,
    v8_version: process.versions.v8,
    openssl_version: process.versions.openssl ?? 'unknown',
    udx_native_version: packageVersion('udx-native'),
    os: osName(),
    kernel: `${os.type()} ${os.release()}`,
    arch: process.arch,
    hostname_hash: hostTag(),
  }
}
