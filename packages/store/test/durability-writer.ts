// Child process of durability.test.ts: appends batches of three entries to a SQLite store forever
// and prints each acknowledged seq, one per line, only after the append has resolved.
import { createSqliteStore } from '../src/sqlite/index.ts'
import { durabilityEntry } from './durability-entry.ts'

const [filename, synchronous] = process.argv.slice(2)
if (filename === undefined) throw new Error('usage: durability-writer.ts <file> [NORMAL|FULL]')
const store = createSqliteStore({ filename, synchronous: synchronous === 'FULL' ? 'FULL' : 'NORMAL' })
await store.migrate()
let seq = await store.lastSeq('durable')
for (;;) {
  seq = await store.append(
    'durable',
    [durabilityEntry(seq + 1), durabilityEntry(seq + 2), durabilityEntry(seq + 3)],
    seq,
  )
  process.stdout.write(`${seq}\n`)
}
