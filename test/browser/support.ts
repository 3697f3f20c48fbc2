/**
 * What the browser tests share: Debian's `chromium` driven by `playwright-core`, pages bundled with
 * esbuild at test time (nothing from a CDN), and a folder for screenshots that git ignores.
 *
 * Outside CI a machine without `/usr/bin/chromium` skips the browser tests with a message saying how
 * to install it; in CI (`CI=true`, where `.ci/run` installs it) a missing browser fails the suite.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type Browser, chromium } from 'playwright-core'

/** Where Debian's `chromium` package installs the browser (`VEL_CHROMIUM_PATH` to use another). */
export const chromiumPath = process.env.VEL_CHROMIUM_PATH ?? '/usr/bin/chromium'

/** The flags every browser test launches with (a container, no GPU, no background traffic). */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const inCi = process.env.CI === 'true'

/** Whether the browser tests run here; false only outside CI on a machine without chromium. */
export const browserAvailable = existsSync(chromiumPath) || inCi

if (!existsSync(chromiumPath)) {
  if (inCi)
    throw new Error(
      `CI=true but ${chromiumPath} is missing: .ci/run installs it (apt-get install -y chromium)`,
    )
  console.warn(
    `[browser tests] skipped: ${chromiumPath} not found. Install it with 'apt-get install -y chromium' (as root) to run them.`,
  )
}

/** Launches headless chromium with `chromiumFlags`. */
export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumFlags })

/** Screenshots and other artifacts: `$VEL_ARTIFACTS_DIR`, or `.artifacts/browser` in the repository. */
export const artifactsDir = (): string => {
  const dir =
    process.env.VEL_ARTIFACTS_DIR ?? fileURLToPath(new URL('../../.artifacts/browser/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Path of an artifact file (its folder created). */
export const artifactPath = (name: string): string => join(artifactsDir(), name)

/** Bundles a page's entry (TSX, React) for the browser with esbuild; returns the JavaScript. */
export async function bundlePage(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    write: false,
    minify: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  const [file] = result.outputFiles
  if (file === undefined) throw new Error(`esbuild produced nothing for ${entry}`)
  return file.text
}

/** A one-script HTML page for a bundle served at `src`. */
export const pageHtml = (title: string, src: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
  `<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:40rem}` +
  `.bubble{padding:.6rem .9rem;border-radius:.8rem;margin:.4rem 0;white-space:pre-wrap}` +
  `[data-role=user]{background:#dbeafe}[data-role=assistant]{background:#f3f4f6}</style>` +
  `</head><body><div id="root"></div><script type="module" src="${src}"></script></body></html>`

/** A promise and the function that resolves it: a gate a test opens. */
export interface Gate {
  readonly opened: Promise<void>
  open(): void
}

export const createGate = (): Gate => {
  let open: () => void = () => undefined
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open: () => open() }
}
