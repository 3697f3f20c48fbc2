import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../src/sqlite/index.ts'

const run = promisify(execFile)
const directory = mkdtempSync(join(tmpdir(), 'vel-store-race-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
const writer = fileURLToPath(new URL('./race-writer.ts', import.meta.url))

describe('SQLite appends from two processes', () => {
  it('never lose or interleave an acknowledged append: the journal is exactly the acknowledged ones', async () => {
    const filename = join(directory, 'race.db')
    const setup = createSqliteStore({ filename })
    await setup.migrate()
    await setup.close()
    const startAt = String(Date.now() + 3500)
    const outputs = await Promise.all(
      ['a', 'b'].map((name) =>
        run(process.execPath, ['--import', 'tsx', writer, filename, name, startAt, '400']),
      ),
    )
    const acks = outputs.map(({ stdout }) =>
      stdout
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('ok '))
        .map((line) => line.split(' ').slice(1).map(Number) as [number, number]),
    )
    // Both won some appends and lost some races: the processes really overlapped.
    for (const [index, { stdout }] of outputs.entries()) {
      expect(acks[index]!.length).toBeGreaterThan(0)
      expect(stdout).toContain('conflict')
    }
    const store = createSqliteStore({ filename })
    await store.migrate()
    const entries = await store.read('race')
    await store.close()
    const acknowledged = acks.flat().reduce((sum, [, count]) => sum + count, 0)
    expect(entries.map((entry) => entry.seq)).toEqual(
      Array.from({ length: acknowledged }, (_, index) => index + 1),
    )
    // Every acknowledged append is in the journal, whole, under the writer that was told it won.
    for (const [index, name] of ['a', 'b'].entries())
      for (const [last, count] of acks[index]!)
        for (let seq = last - count + 1; seq <= last; seq++)
          expect(entries[seq - 1]?.data).toMatchObject({ writer: name })
  }, 60_000)
})
