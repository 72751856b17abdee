/**
 * The page and its files, read once at start and served from memory: the
 * front end in public/ (next to this module in the source tree; the package
 * ships it) and the two libraries it draws with, from node_modules: nothing
 * comes from a CDN, so the page works offline. Only these paths exist.
 */
import fs from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Asset {
  type: string
  body: Buffer
}

/** From src/dashboard/ and from dist/dashboard/ alike, two levels up is the package root. */
const PUBLIC_DIR = fileURLToPath(new URL('../../src/dashboard/public/', import.meta.url))
const require = createRequire(import.meta.url)

/** URL path → file, for the libraries (both MIT, both well kept: docs/dependencies.md). */
const VENDOR: Record<string, string> = {
  '/vendor/cytoscape.min.js': 'cytoscape/dist/cytoscape.min.js',
  '/vendor/uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  '/vendor/uPlot.min.css': 'uplot/dist/uPlot.min.css',
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

export class Assets {
  readonly #files: Map<string, Asset>

  private constructor(files: Map<string, Asset>) {
    this.#files = files
  }

  static async load(): Promise<Assets> {
    const files = new Map<string, Asset>()
    for (const name of await fs.readdir(PUBLIC_DIR)) {
      const type = TYPES[path.extname(name)]
      if (type === undefined) continue
      files.set(name === 'index.html' ? '/' : `/app/${name}`, { type, body: await fs.readFile(path.join(PUBLIC_DIR, name)) })
    }
    for (const [url, module] of Object.entries(VENDOR)) {
      files.set(url, { type: TYPES[path.extname(module)] as string, body: await fs.readFile(require.resolve(module)) })
    }
    return new Assets(files)
  }

  get(urlPath: string): Asset | undefined {
    return this.#files.get(urlPath)
  }

  page(): Asset {
    return this.#files.get('/') as Asset
  }
}
