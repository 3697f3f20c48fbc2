/**
 * The packages as a user gets them: build, `pnpm pack` every package, `npm install` the tarballs
 * into a fresh project outside the workspace, then run the README's example with plain `node`
 * (ESM and CommonJS), type-check a TypeScript consumer, and report the installed sizes.
 */
import { execFile } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cleanEnv,
  directorySize,
  formatMegabytes,
  hasNativeCode,
  installedPackages,
  isBuildStale,
  largestPackages,
  nodeDirectory,
} from './consumer-support.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = fileURLToPath(new URL('./fixtures/consumer/', import.meta.url))
const packages = ['core', 'providers', 'store', 'actors', 'nats', 'adapters-http', 'cli']
const work = mkdtempSync(join(tmpdir(), 'vel-consumer-'))
const app = join(work, 'app')
const tarballs = join(work, 'tarballs')
const env = cleanEnv(process.env, nodeDirectory(process.execPath))

afterAll(() => rmSync(work, { recursive: true, force: true }))

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const run = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Result> =>
  new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

/** Runs a command and fails with its output when it does not exit 0. */
const check = async (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Result> => {
  const result = await run(command, args, cwd)
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  return result
}

const npm = (...args: string[]) =>
  check('npm', ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...args], app)
// better-sqlite3 12 aborts at exit on Node 24.19+ (its ObjectWrap cleanup hook); 13 needs Node 22+.
const sqliteDriver =
  Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3@^13.0.0' : 'better-sqlite3@^12.6.2'
const nodeModules = () => join(app, 'node_modules')
const installed = (name: string) => readdirSync(nodeModules()).includes(name)

/** Installed size after each step: the first is `@vel/actors` + the memory store. */
const sizes: Array<{ readonly step: string; readonly bytes: number; readonly nativeCode: boolean }> = []
const timings: string[] = []
let breakdown: ReadonlyArray<{ readonly name: string; readonly bytes: number }> = []
let firstPackages: ReadonlyArray<string> = []
/** Runs one setup step and notes how long it took (printed with the sizes; nothing asserts on it). */
const timed = async <T>(step: string, action: () => Promise<T>): Promise<T> => {
  const start = performance.now()
  const result = await action()
  timings.push(`${step}: ${((performance.now() - start) / 1000).toFixed(1)} s`)
  return result
}
const measure = (step: string) => {
  sizes.push({ step, bytes: directorySize(nodeModules()), nativeCode: hasNativeCode(nodeModules()) })
}

beforeAll(async () => {
  if (packages.some((name) => isBuildStale(root, join(root, 'packages', name))))
    await timed('pnpm build', () => check('pnpm', ['build'], root))
  mkdirSync(tarballs)
  const files: Record<string, string> = {}
  for (const name of packages) {
    const dir = join(root, 'packages', name)
    const { name: npmName } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }
    const before = new Set(readdirSync(tarballs))
    await timed(`pnpm pack ${npmName}`, () => check('pnpm', ['pack', '--pack-destination', tarballs], dir))
    const tarball = readdirSync(tarballs).find((file) => !before.has(file))
    if (tarball === undefined) throw new Error(`pnpm pack wrote no tarball for ${npmName}`)
    files[npmName] = `file:${join(tarballs, tarball)}`
  }
  mkdirSync(app)
  // Direct dependencies and overrides name the same tarballs, so npm never asks the registry for @vel/*.
  const direct = ['@vel/core', '@vel/actors', '@vel/store']
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'vel-consumer',
      private: true,
      type: 'module',
      allowScripts: { 'better-sqlite3': true },
      dependencies: Object.fromEntries(direct.map((name) => [name, files[name]])),
      overrides: files,
    }),
  )
  await timed('npm install (actors, core, store)', () => npm('install'))
  measure('@vel/actors + @vel/core + @vel/store (memory)')
  breakdown = largestPackages(nodeModules())
  firstPackages = installedPackages(nodeModules())
  await timed('npm install better-sqlite3 kysely', () => npm('install', sqliteDriver, 'kysely@^0.28.18'))
  measure('+ SQLite (better-sqlite3, kysely)')
  await timed('npm install pg', () => npm('install', 'pg@^8.16.0'))
  measure('+ Postgres (pg)')
  for (const sdk of ['openai@^6.30.1', '@anthropic-ai/sdk@^1.12.0', '@google/genai@^2.32.0']) {
    await timed(`npm install ${sdk}`, () => npm('install', sdk))
    measure(`+ ${sdk.slice(0, sdk.lastIndexOf('@'))}`)
  }
  for (const file of ['example.mjs', 'example.cjs', 'import-time.mjs', 'effect-user.mjs'])
    copyFileSync(join(fixtures, file), join(app, file))
  copyFileSync(join(fixtures, 'consumer.mts'), join(app, 'consumer.ts'))
  let previous = 0
  const table = sizes.map(({ step, bytes, nativeCode }) => {
    const line = `| ${step} | ${formatMegabytes(bytes)} | +${formatMegabytes(bytes - previous)} | ${nativeCode ? 'yes' : 'no'} |`
    previous = bytes
    return line
  })
  console.log(
    [
      `Installed size on Node ${process.version} (node_modules, sum of file sizes):`,
      '| installed | size | added | native code |',
      '|---|---|---|---|',
      ...table,
      `Largest packages of the first step: ${breakdown.map(({ name, bytes }) => `${name} ${formatMegabytes(bytes)}`).join(', ')}`,
      `Setup steps: ${timings.join(', ')}`,
    ].join('\n'),
  )
})

describe('the packages from their tarballs', () => {
  it('install @vel/actors with the memory store under 15 MB, without native code, SDKs, drivers or effect', () => {
    const [first] = sizes
    expect(first?.nativeCode).toBe(false)
    expect(first?.bytes).toBeLessThan(15e6)
    // Effect is bundled (its parts Vel uses) into @vel/actors and @vel/providers: not installed.
    expect(firstPackages).not.toContain('effect')
    const scoped = readdirSync(join(nodeModules(), '@vel')).sort()
    expect(scoped).toEqual(['actors', 'core', 'providers', 'store'])
    const license = readFileSync(join(root, 'LICENSE'), 'utf8')
    for (const name of scoped)
      expect({ name, license: readFileSync(join(nodeModules(), '@vel', name, 'LICENSE'), 'utf8') }).toEqual({
        name,
        license,
      })
    // The later steps installed these; the first step must not have needed them.
    expect(sizes[1]?.nativeCode).toBe(true)
    expect(installed('better-sqlite3') && installed('pg') && installed('openai')).toBe(true)
  })

  it('run the README example with plain node from JavaScript', async () => {
    const result = await check(process.execPath, ['example.mjs', join(work, 'example.db')], app)
    expect(result.stdout.trim()).toBe('2 + 40 = 42')
  })

  it('load with require() from CommonJS', async () => {
    const result = await check(process.execPath, ['example.cjs'], app)
    expect(result.stdout.trim()).toBe('20 + 22 = 42')
  })

  it('type-check a strict TypeScript consumer with module nodenext and with moduleResolution bundler', async () => {
    await npm('install', '@types/node@^20.19.0')
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const configs = {
      'tsconfig.nodenext.json': { strict: true, module: 'nodenext', target: 'es2022', noEmit: true },
      'tsconfig.bundler.json': {
        strict: true,
        module: 'esnext',
        moduleResolution: 'bundler',
        target: 'es2022',
        noEmit: true,
      },
    }
    for (const [file, compilerOptions] of Object.entries(configs)) {
      writeFileSync(join(app, file), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }))
      const result = await timed(`tsc -p ${file}`, () => run(process.execPath, [tsc, '-p', file], app))
      expect({ file, output: result.stdout + result.stderr, code: result.code }).toEqual({
        file,
        output: '',
        code: 0,
      })
    }
    console.log(timings.slice(-2).join(', '))
  })

  // After the type-check, which must pass without `effect` installed. An older 3.x than the one
  // Vel bundles: were the bundled copy to share Effect's global store with the app's, each
  // runtime would run the other's Effects and log "Executing an Effect versioned ...".
  it("run next to the app's own effect, another version, and check answers with its Effect Schema", async () => {
    await npm('install', 'effect@3.19.19')
    const result = await check(process.execPath, ['effect-user.mjs'], app)
    // Effect's logger writes to stdout: the answer must be all there is.
    const answer = { before: 'before', answer: { sum: 42, timedOut: true }, calls: 2, after: 'after' }
    expect({ stdout: result.stdout.trim(), stderr: result.stderr }).toEqual({
      stdout: JSON.stringify(answer),
      stderr: '',
    })
  })

  // A report, not a check (docs/performance.md): `VEL_IMPORT_RUNS=11 pnpm vitest run --project e2e`.
  it.runIf(process.env.VEL_IMPORT_RUNS !== undefined)(
    'report the import time of @vel/actors with the SQLite store, module by module',
    async () => {
      const result = await check(
        process.execPath,
        ['import-time.mjs', process.env.VEL_IMPORT_RUNS ?? '7'],
        app,
      )
      console.log(result.stdout)
      expect(result.stdout).toContain('| `@vel/actors` |')
    },
  )
})
