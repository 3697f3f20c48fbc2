import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../src/sqlite/index.ts'
import { isIntact } from './durability-entry.ts'

const directory = mkdtempSync(join(tmpdir(), 'vel-store-durability-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
const writer = fileURLToPath(new URL('./durability-writer.ts', import.meta.url))

/** Runs the writer until it has acknowledged `acks` appends, kills it with SIGKILL, returns the last ack. */
const writeAndKill = (filename: string, synchronous: string, acks: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, filename, synchronous], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let acknowledged = 0
    let seen = 0
    let errors = ''
    child.stderr.on('data', (chunk) => {
      errors += String(chunk)
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      acknowledged = Number(line)
      seen += 1
      if (seen === acks) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL' && seen >= acks) resolve(acknowledged)
      else reject(new Error(`writer exited early (${signal ?? _code}): ${errors}`))
    })
  })

describe('SQLite durability under SIGKILL', () => {
  for (const synchronous of ['NORMAL', 'FULL']) {
    it(`keeps every acknowledged entry and no partial batch (synchronous=${synchronous})`, async () => {
      const filename = join(directory, `durable-${synchronous}.db`)
      let acknowledged = 0
      // Two rounds: the second writer resumes from what the first one left.
      for (const acks of [150, 120]) {
        const before = acknowledged
        acknowledged = await writeAndKill(filename, synchronous, acks)
        expect(acknowledged).toBeGreaterThanOrEqual(before + acks * 3)
        const store = createSqliteStore({ filename })
        await store.migrate()
        const last = await store.lastSeq('durable')
        const entries = await store.read('durable')
        await store.close()
        expect(last).toBeGreaterThanOrEqual(acknowledged)
        // Batches of three are atomic: a kill never leaves part of one.
        expect(last % 3).toBe(0)
        expect(entries.map((entry) => entry.seq)).toEqual(
          Array.from({ length: last }, (_, index) => index + 1),
        )
        expect(entries.every((entry) => isIntact(entry.seq, entry.data))).toBe(true)
      }
    }, 60_000)
  }
})
