#!/usr/bin/env node
// Builds the package in the current directory: `tsc -p tsconfig.build.json` into a clean `dist/`
// (ESM JavaScript, `.d.ts`, declaration and source maps), then rewrites the relative `.ts`
// specifiers that tsc keeps in declaration files to `.js` (same length, so the maps stay valid).
//
// `--bundle <package>` (repeatable) then bundles the parts of that package the compiled modules
// import statically into shared chunks under `dist/_bundled/`, so it is not a runtime dependency
// of the published package (docs/decisions/0008-bundled-effect.md). Vel's own modules stay one
// file each: only the files that import a bundled package are rewritten, relative imports and
// every other package stay external, and so do dynamic `import()`s (an optional peer the user
// installs, e.g. `effect/Schema` for an Effect Schema). A bundled Effect gets a private global
// store, so it never shares fibers' state with the user's own `effect`.
//
// `--file-per-entry` bundles Vel's own modules as well: one file per `exports` entry, shared code
// in chunks, the per-module `.js` files removed and the declarations kept (ADR 0013).
// `--peer-types <package>` lets the declarations name a bundled package that stays a peer (ADR 0012).
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, sep } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', multiple: true, default: [] },
    'peer-types': { type: 'string', multiple: true, default: [] },
    'file-per-entry': { type: 'boolean', default: false },
  },
})
// One JavaScript file per entry point of `exports` (shared code in chunks) instead of one per
// module: Node's ESM loader pays per file, on the start-up path (docs/decisions/0013-*.md).
const filePerEntry = values['file-per-entry']
const bundled = values.bundle
// Bundled packages whose types the declarations may still name: they stay (optional) peers that a
// TypeScript user installs, and only their run-time code is bundled (docs/decisions/0012-*.md).
const peerTypes = values['peer-types']
const dist = join(process.cwd(), 'dist')
const manifest = JSON.parse(readFileSync('package.json', 'utf8'))
const require = createRequire(import.meta.url)

const fail = (message) => {
  console.error(`build-package (${manifest.name}): ${message}`)
  process.exit(1)
}

rmSync(dist, { recursive: true, force: true })
const tsc = require.resolve('typescript/bin/tsc')
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
if (result.status !== 0) process.exit(result.status ?? 1)

const files = (suffix) =>
  readdirSync(dist, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name))

const relativeTs = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g
for (const file of files('.d.ts')) {
  const text = readFileSync(file, 'utf8')
  const rewritten = text.replace(relativeTs, '$1$2.js$3')
  if (rewritten !== text) writeFileSync(file, rewritten)
}

/** A specifier naming `name` or one of its subpaths. */
const names = (name, specifier) => specifier === name || specifier.startsWith(`${name}/`)

/** `from 'x'`, `import 'x'` and `import('x')` / `import("x")` of package `name` in a file's text. */
const importsOf = (name, text, { dynamic }) => {
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  const tail = `(?:\\/[^'"]*)?['"]`
  const statics = new RegExp(`(?:\\bfrom\\s*|\\bimport\\s+)['"]${escaped}${tail}`)
  const dynamics = new RegExp(`\\bimport\\s*\\(\\s*['"]${escaped}${tail}`)
  return statics.test(text) || (dynamic && dynamics.test(text))
}

/** The compiled files that `exports` (its `import` targets) point at. */
const exportedEntries = () =>
  Object.values(manifest.exports ?? {})
    .map((target) => (typeof target === 'string' ? target : target.import))
    .filter((target) => typeof target === 'string' && target.endsWith('.js'))
    .map((target) => join(process.cwd(), target))

async function bundle(packages) {
  const { build } = await import('esbuild')
  const entries = filePerEntry
    ? exportedEntries()
    : files('.js').filter((file) =>
        packages.some((name) => importsOf(name, readFileSync(file, 'utf8'), { dynamic: false })),
      )
  if (entries.length === 0) fail(`--bundle ${packages.join(', ')}: no compiled module imports it`)
  const own = (path) => !path.split(sep).includes('node_modules')
  const storeKey = `effect/GlobalValue/bundled-in/${manifest.name}@${manifest.version}`
  let isolated = false
  const outcome = await build({
    absWorkingDir: process.cwd(),
    entryPoints: entries,
    outdir: dist,
    outbase: dist,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    // Readable stack traces: no minification; maps chain to tsc's, which lead to `src/`.
    sourcemap: 'linked',
    sourcesContent: false,
    chunkNames: '_bundled/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'vel-bundle',
        setup(plugin) {
          plugin.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point' || !own(args.importer)) return undefined
            // With a file per entry, Vel's own modules (static or dynamic imports) are bundled too.
            if (filePerEntry && args.path.startsWith('.')) return undefined
            // A dynamic import of a bundled package is an optional peer: the user's own copy.
            if (args.kind === 'dynamic-import') return { path: args.path, external: true }
            if (packages.some((name) => names(name, args.path))) return undefined
            return { path: args.path, external: true }
          })
          // Effect keeps fiber references, default services and caches in one store on
          // `globalThis`, shared by every copy of `effect` in the process. A bundled copy sharing
          // it with the user's `effect` (another version) runs their Effects in its runtime and
          // theirs run ours ("Executing an Effect versioned ..."); so the bundled copy gets its own.
          plugin.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]esm[\\/]GlobalValue\.js$/ }, (args) => {
            const text = readFileSync(args.path, 'utf8')
            const contents = text.replace('`effect/GlobalValue`', JSON.stringify(storeKey))
            if (contents === text) fail(`${args.path}: the global store id to isolate was not found`)
            isolated = true
            return { contents, loader: 'js' }
          })
        },
      },
    ],
  })
  if (outcome.errors.length > 0) process.exit(1)
  if (packages.includes('effect') && !isolated) fail('the bundled effect has no GlobalValue module')
  // tsc's one file per module is now inside the entries and chunks: only the declarations stay.
  if (filePerEntry) {
    const written = new Set(Object.keys(outcome.metafile.outputs).map((file) => join(process.cwd(), file)))
    for (const file of [...files('.js'), ...files('.js.map')]) if (!written.has(file)) rmSync(file)
  }

  // What the published package needs: no static import of a bundled package left in its
  // JavaScript, and none at all in its declarations (it is not installed for the user's tsc).
  // esbuild's outputs by their metafile (bundled code keeps comments that quote imports), the rest
  // by their text.
  const outputs = new Map(
    Object.entries(outcome.metafile.outputs).map(([file, output]) => [join(process.cwd(), file), output]),
  )
  for (const file of files('.js'))
    for (const name of packages) {
      const output = outputs.get(file)
      const imports =
        output === undefined
          ? importsOf(name, readFileSync(file, 'utf8'), { dynamic: false })
          : output.imports.some(
              (entry) => entry.external && entry.kind !== 'dynamic-import' && names(name, entry.path),
            )
      if (imports) fail(`${relative(dist, file)} still imports ${name}`)
    }
  for (const file of files('.d.ts'))
    for (const name of packages.filter((candidate) => !peerTypes.includes(candidate)))
      if (importsOf(name, readFileSync(file, 'utf8'), { dynamic: true }))
        fail(`${relative(dist, file)} names ${name} in its types: keep it out of the public API`)

  // The bundled code keeps its licenses: of every package it took code from (ajv's own
  // dependencies too), found from esbuild's inputs.
  mkdirSync(join(dist, '_bundled'), { recursive: true })
  const roots = new Set()
  for (const input of Object.keys(outcome.metafile.inputs)) {
    const match = /^(.*node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(input)
    if (match !== null) roots.add(join(process.cwd(), match[1]))
  }
  for (const name of packages)
    if (![...roots].some((root) => root.endsWith(`${sep}${name.replace('/', sep)}`)))
      fail(`--bundle ${name}: esbuild took no code from it`)
  for (const root of roots) {
    const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const license = readdirSync(root).find((file) => /^licen[cs]e/i.test(file))
    if (license === undefined) fail(`${name} has no LICENSE file to ship with its bundled code`)
    copyFileSync(join(root, license), join(dist, '_bundled', `${name.replace('/', '+')}@${version}.LICENSE`))
  }
  const chunks = Object.entries(outcome.metafile.outputs).filter(
    ([file]) => file.includes('_bundled') && file.endsWith('.js'),
  )
  const bytes = chunks.reduce((sum, [, output]) => sum + output.bytes, 0)
  console.log(
    `${manifest.name}: bundled ${[...(filePerEntry ? ['its modules'] : []), ...packages].join(', ')} for ${entries.length} ${filePerEntry ? 'entry point' : 'module'}(s) into ${chunks.length} chunk(s), ${(bytes / 1e3).toFixed(0)} kB`,
  )
}

if (bundled.length > 0 || filePerEntry) await bundle(bundled)
