#!/usr/bin/env node
// Builds the package in the current directory: `tsc -p tsconfig.build.json` into a clean `dist/`
// (ESM JavaScript, `.d.ts`, declaration and source maps), then rewrites the relative `.ts`
// specifiers that tsc keeps in declaration files to `.js` (same length, so the maps stay valid).
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const dist = join(process.cwd(), 'dist')
rmSync(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
if (result.status !== 0) process.exit(result.status ?? 1)

const relativeTs = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
  const file = join(entry.parentPath, entry.name)
  const text = readFileSync(file, 'utf8')
  const rewritten = text.replace(relativeTs, '$1$2.js$3')
  if (rewritten !== text) writeFileSync(file, rewritten)
}
