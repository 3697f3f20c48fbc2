import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll } from 'vitest'
import { createSqliteStore } from '../src/sqlite/index.ts'
import { describeStore } from '../src/testing.ts'
import { fixtures } from './fixtures.ts'

const directory = mkdtempSync(join(tmpdir(), 'vel-store-sqlite-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
const fileOf = (dataset: string) => join(directory, `${dataset}.db`)

// Two stores of one dataset are two connections to one file.
describeStore('sqlite', ({ now, dataset }) => createSqliteStore({ filename: fileOf(dataset), now }), {
  fixtures,
  corrupt: async ({ kind, id, seq }, { dataset }) => {
    const [table, column, key, position] =
      kind === 'journal'
        ? ['journal', 'data', 'run_id', 'seq']
        : kind === 'snapshot'
          ? ['snapshots', 'state', 'run_id', 'seq']
          : ['session_messages', 'message', 'session_id', 'position']
    const database = new Database(fileOf(dataset))
    try {
      const result = database
        .prepare(`update ${table} set ${column} = '{"cut' where ${key} = ? and ${position} = ?`)
        .run(id, seq)
      if (result.changes !== 1) throw new Error(`no ${kind} row ${id}#${seq}`)
    } finally {
      database.close()
    }
  },
})
