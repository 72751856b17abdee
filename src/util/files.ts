import fs from 'node:fs/promises'
import path from 'node:path'
import { CredentialError } from '../errors.js'

/**
 * Writes a secret (private key) with mode 0600, atomically: a temporary file in
 * the same directory is created 0600 and renamed into place, so the secret is
 * never readable by others, not even for an instant. Refuses to replace an
 * existing file unless `force`.
 */
export async function writeSecretFile(file: string, contents: string, options: { force?: boolean } = {}): Promise<void> {
  await writeFileAtomic(file, contents, 0o600, options)
}

export async function writePublicFile(file: string, contents: string, options: { force?: boolean } = {}): Promise<void> {
  await writeFileAtomic(file, contents, 0o644, options)
}

async function writeFileAtomic(file: string, contents: string, mode: number, options: { force?: boolean }): Promise<void> {
  await fsStep(file, 'create the directory of', () => fs.mkdir(path.dirname(file), { recursive: true }))
  if (!options.force && (await exists(file))) {
    throw new CredentialError('OVL_FILE_EXISTS', `${file} already exists; refusing to overwrite it (use --force)`)
  }
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`
  const handle = await fsStep(file, 'write', () => fs.open(temp, 'wx', mode))
  // The temporary file holds the secret too: it goes whatever happens, unless it became `file`.
  let placed = false
  try {
    try {
      await handle.writeFile(contents)
      await handle.chmod(mode) // the umask may have narrowed or the file may exist with other bits
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.force) {
      await fsStep(file, 'replace', () => fs.rename(temp, file))
      placed = true
    } else {
      // link() fails if the target appeared meanwhile: no silent overwrite under a race.
      try {
        await fs.link(temp, file)
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CredentialError('OVL_FILE_EXISTS', `${file} already exists; refusing to overwrite it (use --force)`)
        }
        throw fileError(file, 'write', cause)
      }
    }
  } catch (err) {
    throw err instanceof CredentialError ? err : fileError(file, 'write', err)
  } finally {
    if (!placed) await fs.rm(temp, { force: true })
  }
}

/** A system error on an operator's file as a typed error that names the file and the reason (EACCES, EISDIR, ENOSPC...). */
function fileError(file: string, doing: string, cause: unknown): CredentialError {
  const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message
  return new CredentialError('OVL_FILE_UNWRITABLE', `${file}: cannot ${doing} it (${reason})`, { cause })
}

async function fsStep<T>(file: string, doing: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (cause) {
    throw fileError(file, doing, cause)
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file)
    return true
  } catch {
    return false
  }
}
