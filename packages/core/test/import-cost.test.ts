import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const here = fileURLToPath(new URL('.', import.meta.url))
const core = new URL('../src/index.ts', import.meta.url).href

/** Imports each specifier in turn in a fresh Node with tsx; the module URLs each one loaded. */
async function modulesLoaded(...specifiers: string[]): Promise<Record<string, string[]>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'import-probe.mjs', ...specifiers], {
    cwd: here,
  })
  return JSON.parse(stdout) as Record<string, string[]>
}

const schemaModules = /\/effect\/dist\/esm\/(Schema|JSONSchema|ParseResult)\.js$/

describe('importing @vel/core', () => {
  it('loads no effect/Schema, JSONSchema or ParseResult (and the trace does see them when they load)', async () => {
    const loaded = await modulesLoaded(core, 'effect/Schema', 'effect/JSONSchema')
    const fromCore = loaded[core] ?? []
    // The trace sees core's own modules...
    expect(fromCore).toEqual(expect.arrayContaining([core, new URL('../src/tool.ts', import.meta.url).href]))
    // ...none of Effect's schema modules...
    expect(fromCore.filter((url) => schemaModules.test(url))).toEqual([])
    // ...and does see them once something imports them (what the check above would have caught).
    const control = [...(loaded['effect/Schema'] ?? []), ...(loaded['effect/JSONSchema'] ?? [])]
    const fromSchema = control.filter((url) => schemaModules.test(url))
    expect(fromSchema.map((url) => url.split('/').pop()).sort()).toEqual([
      'JSONSchema.js',
      'ParseResult.js',
      'Schema.js',
    ])
  })
})
