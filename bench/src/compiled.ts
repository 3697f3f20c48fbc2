/**
 * The compiled build for W3: process B run by plain `node` (no tsx, no `@vel/source` condition) on
 * the packages' `dist/`, as an installed app would run it. `prepareCompiled()` builds the packages
 * Vel's bench imports when their `dist/` is missing or older than their sources (`pnpm --filter
 * @vel/actors... run build`), then compiles the bench's own child script with esbuild into
 * `bench/dist/` (the bench's modules bundled, every package external, dynamic imports kept as
 * separate chunks so the runtime's module loading is still timed apart).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** How process B runs Vel: TypeScript sources through tsx, or the compiled `dist/` with plain node. */
export type Build = 'tsx' | 'compiled'

/** The packages the bench's Vel imports, with their workspace dependencies. */
const packages = ['core', 'store', 'providers', 'actors'] as const

const newestMtime = (dir: string): number => {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  return newest
}

/**
 * Packages whose `dist/index.js` is missing or older than one of its inputs: a source file, the
 * package's manifest or build config, or the shared build files.
 */
export function stalePackages(root: string): string[] {
  const shared = ['scripts/build-package.mjs', 'tsconfig.base.json', 'tsconfig.build.json'].map(
    (file) => statSync(join(root, file)).mtimeMs,
  )
  return packages.filter((name) => {
    const dir = join(root, 'packages', name)
    const built = join(dir, 'dist', 'index.js')
    if (!existsSync(built)) return true
    const inputs = Math.max(
      newestMtime(join(dir, 'src')),
      ...['package.json', 'tsconfig.build.json'].map((file) => statSync(join(dir, file)).mtimeMs),
      ...shared,
    )
    return statSync(built).mtimeMs < inputs
  })
}

let prepared: Promise<void> | undefined

/** Builds what the compiled child needs, once per process; throws with the way out if it cannot. */
export function prepareCompiled(benchDir: string): Promise<void> {
  prepared ??= (async () => {
    const root = join(benchDir, '..')
    const stale = stalePackages(root)
    if (stale.length > 0) {
      process.stderr.write(`building ${stale.map((name) => `@vel/${name}`).join(', ')} for W3 (compiled)\n`)
      const built = spawnSync('pnpm', ['--filter', '@vel/actors...', 'run', 'build'], {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
      })
      if (built.error !== undefined || built.status !== 0)
        throw new Error(
          `W3 (compiled) needs the packages' dist/: \`pnpm --filter '@vel/actors...' run build\` failed (${built.error?.message ?? `exit ${built.status}`}); run \`pnpm build\` and try again`,
        )
      const still = stalePackages(root)
      if (still.length > 0)
        throw new Error(`W3 (compiled): the build left dist/ stale in ${still.join(', ')}`)
    }
    const { build } = await import('esbuild')
    const outdir = join(benchDir, 'dist')
    rmSync(outdir, { recursive: true, force: true })
    await build({
      absWorkingDir: benchDir,
      entryPoints: ['src/w3-crash.ts'],
      outdir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20.19',
      packages: 'external',
      logLevel: 'error',
    })
  })()
  return prepared
}

/**
 * The children's environment: the bench's, without `NODE_EXTRA_CA_CERTS`. Node reads and parses
 * that file at start-up, before any script runs (on the bench's machine, where it names Debian's
 * whole CA bundle, an empty script took 120 to 140 ms instead of 30 to 40); no child uses TLS, and
 * a process start that a machine's certificate setting doubles is not Vel's.
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = env
  return rest
}

/** The child's command line and environment for a build. */
export function childCommand(
  benchDir: string,
  script: string,
  build: Build,
): { args: string[]; env: NodeJS.ProcessEnv } {
  if (build === 'tsx')
    return { args: ['--expose-gc', '--import', 'tsx', join('src', script)], env: childEnvironment() }
  // Without the source condition (pnpm puts it in NODE_OPTIONS), `@vel/*` resolve to `dist/`.
  const nodeOptions = (process.env.NODE_OPTIONS ?? '')
    .split(/\s+/)
    .filter((option) => option !== '' && option !== '--conditions=@vel/source')
    .join(' ')
  return {
    args: ['--expose-gc', join(benchDir, 'dist', script.replace(/\.ts$/, '.js'))],
    env: { ...childEnvironment(), NODE_OPTIONS: nodeOptions },
  }
}
