// Child process of race.test.ts: races another process to append to one run of a SQLite file.
// Starts at the epoch ms `startAt` (so both processes overlap) and races for `durationMs`.
// Prints `ok <last seq> <count>` per acknowledged append and `conflict` per lost race.
import { StoreError } from '@vel/core'
import { createSqliteStore } from '../src/sqlite/index.ts'

const [filename, writer, startAt, durationMs] = process.argv.slice(2)
if (filename === undefined || writer === undefined)
  throw new Error('usage: race-writer.ts <file> <name> <startAt> <durationMs>')
const store = createSqliteStore({ filename })
await store.migrate()
const lines: string[] = []
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())))
const stopAt = Date.now() + Number(durationMs ?? 300)
for (let round = 0; Date.now() < stopAt; round++) {
  const seq = await store.lastSeq('race')
  try {
    // Batches of two alternate with single entries, so both append paths race.
    const entries = Array.from({ length: (round % 2) + 1 }, () => ({ type: 'race', data: { writer, round } }))
    lines.push(`ok ${await store.append('race', entries, seq)} ${entries.length}`)
  } catch (error) {
    if (!(StoreError.isInstance(error) && error.reason === 'conflict')) throw error
    lines.push('conflict')
  }
}
await store.close()
process.stdout.write(`${lines.join('\n')}\n`)
