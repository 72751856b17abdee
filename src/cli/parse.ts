import { InvalidArgumentError } from 'commander'

export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a whole number above 0, got "${value}"`)
    return n
  }
}

export function portNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`${flag} expects a port number from 0 to 65535, got "${value}"`)
    return n
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}
