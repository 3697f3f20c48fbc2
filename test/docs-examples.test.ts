/**
 * The docs show each twelve-factor example exactly as the tests run it: a fenced block preceded by
 * `<!-- test: <file>#<region> -->` must equal the code between `// #region <region>` and
 * `// #endregion` in that test file (dedented; lines ending in `// (test)` are the test's own and
 * are left out). Every region appears in docs/twelve-factors.md.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8')
const docs = ['../docs/twelve-factors.md', '../docs/migration-from-python.md']
const testFiles = ['factors-1-to-6.test.ts', 'factors-7-to-12.test.ts']

/** The regions of a test file, by name, as the docs must show them. */
function regionsOf(source: string): Map<string, string> {
  const regions = new Map<string, string>()
  const pattern = /^[ \t]*\/\/ #region (\S+)\n([\s\S]*?)^[ \t]*\/\/ #endregion$/gm
  for (const match of source.matchAll(pattern)) {
    const lines = (match[2] as string).split('\n').filter((line) => !line.trimEnd().endsWith('// (test)'))
    if (lines.at(-1) === '') lines.pop()
    const indent = Math.min(
      ...lines.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)?.[0].length ?? 0),
    )
    regions.set(match[1] as string, lines.map((line) => line.slice(indent)).join('\n'))
  }
  return regions
}

/** The blocks a doc claims are tested: `file#region` and the block's code. */
function claimsOf(markdown: string): Array<{ readonly ref: string; readonly code: string }> {
  const pattern = /<!-- test: (\S+) -->\n```ts\n([\s\S]*?)\n```/g
  return [...markdown.matchAll(pattern)].map((match) => ({
    ref: match[1] as string,
    code: match[2] as string,
  }))
}

const regions = new Map<string, string>()
for (const file of testFiles)
  for (const [name, code] of regionsOf(read(`./${file}`))) regions.set(`${file}#${name}`, code)

describe('docs show the twelve-factor examples as the tests run them', () => {
  it('finds the regions (so the checks below are not vacuous)', () => {
    expect(regions.size).toBeGreaterThanOrEqual(12)
  })

  for (const doc of docs)
    it(`${doc.slice(8)}: every tested block is the test's code`, () => {
      const claims = claimsOf(read(doc))
      expect(claims.length).toBeGreaterThan(0)
      for (const { ref, code } of claims) {
        expect(regions.has(ref), `${ref} is not a region of a test file`).toBe(true)
        expect(code, `${doc} block for ${ref}`).toBe(regions.get(ref))
      }
    })

  it('twelve-factors.md shows every region', () => {
    const shown = new Set(claimsOf(read(docs[0] as string)).map((claim) => claim.ref))
    expect([...regions.keys()].filter((ref) => !shown.has(ref))).toEqual([])
  })
})
