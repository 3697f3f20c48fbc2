import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createSqliteStore } from '../src/sqlite/index.ts'
import { describeStore } from '../src/testing.ts'
import { fixtures } from './fixtures.ts'

const directory = mkdtempSync(join(tmpdir(), 'vel-store-sqlite-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
const fileOf = (dataset: string) => join(directory, `${dataset}.db`)

/** Overwrites one column of a run's index row with raw SQL. */
const corruptRun = (filename: string, runId: string, column: string, value: string): void => {
  const database = new Database(filename)
  try {
    const result = database.prepare(`update runs set ${column} = ? where run_id = ?`).run(value, runId)
    if (result.changes !== 1) throw new Error(`no run ${runId}`)
  } finally {
    database.close()
  }
}

// Two stores of one dataset are two connections to one file.
describeStore('sqlite', ({ now, dataset }) => createSqliteStore({ filename: fileOf(dataset), now }), {
  fixtures,
  corrupt: async ({ kind, id, seq }, { dataset }) => {
    if (kind === 'run') return corruptRun(fileOf(dataset), id, 'metadata', '{"cut')
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

describe('SQLite store specifics', () => {
  it('closes its connection on close() when Kysely loaded but never ran a query', async () => {
    const filename = fileOf('lazy-kysely-close')
    const setup = createSqliteStore({ filename })
    await setup.migrate()
    await setup.close()
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.append('r', [{ type: 'e', data: {} }], 0)
    // The first Kysely operation loads Kysely and fails its argument check before any query.
    await expect(store.findRunByIdempotencyKey('', 'k')).rejects.toMatchObject({ reason: 'invalid-argument' })
    await store.close()
    // The last connection to a WAL database removes the WAL file when it closes.
    expect(existsSync(`${filename}-wal`)).toBe(false)
  })

  it('finishes a migrate() called just before close(), and closes after it', async () => {
    const filename = fileOf('migrate-then-close')
    const store = createSqliteStore({ filename })
    const migrated = store.migrate()
    await store.close()
    await migrated
    expect(existsSync(`${filename}-wal`)).toBe(false)
    const again = createSqliteStore({ filename })
    await again.migrate()
    expect(await again.listRuns()).toEqual({ items: [] })
    await again.close()
  })

  it("stores an event's name once: an empty type column when the data names it, read back from the data", async () => {
    const filename = fileOf('elided-type')
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.append('r', [{ type: 'tool.succeeded', data: { type: 'tool.succeeded', output: 2 } }], 0)
    await store.append('r', [{ type: 'other', data: { type: 'tool.failed' } }], 1)
    await store.close()
    const database = new Database(filename)
    try {
      const types = database
        .prepare('select type from journal where run_id = ? order by seq')
        .pluck()
        .all('r')
      expect(types).toEqual(['', 'other'])
      // A row written before (its type spelled out) reads as it did.
      database
        .prepare("insert into journal (run_id, seq, type, at, data) values ('r', 3, 'tool.started', 7, ?)")
        .run('{"type":"tool.started","toolCallId":"c"}')
      // An empty type whose data does not name one: damaged.
      database
        .prepare("insert into journal (run_id, seq, type, at, data) values ('r', 4, '', 8, ?)")
        .run('{"toolCallId":"c"}')
    } finally {
      database.close()
    }
    const reopened = createSqliteStore({ filename })
    expect((await reopened.read('r', { limit: 3 })).map((entry) => entry.type)).toEqual([
      'tool.succeeded',
      'other',
      'tool.started',
    ])
    await expect(reopened.read('r')).rejects.toMatchObject({ _tag: 'StoreError', reason: 'corrupted' })
    await expect(reopened.read('r')).rejects.toThrow(/r#4/)
    expect(await reopened.lastSeq('r')).toBe(4)
    await reopened.close()
  })

  it('lists runs whose index rows do not decode as corrupted, one bad column each, and the rest as usual', async () => {
    const filename = fileOf('corrupt-columns')
    const store = createSqliteStore({ filename })
    await store.migrate()
    const damage = [
      ['pending', '[1,'],
      ['answer', 'not json'],
      ['error', '{"tag": 1}'],
      ['metadata', '[]'],
      ['status', 'exploded'],
    ] as const
    for (const [column] of damage) await store.createRun({ runId: `bad-${column}`, agentId: 'agent' })
    await store.createRun({ runId: 'good', agentId: 'agent', metadata: { ok: true } })
    for (const [column, value] of damage) corruptRun(filename, `bad-${column}`, column, value)
    const listed = await store.listRuns({ agentId: 'agent' })
    expect(listed.items).toHaveLength(damage.length + 1)
    for (const [column] of damage) {
      const run = listed.items.find((item) => item.runId === `bad-${column}`)
      expect(run?.status, column).toBe('corrupted')
      expect(run?.error).toMatchObject({ tag: 'StoreError', reason: 'corrupted' })
      expect(run?.error?.message).toContain(column)
      expect(await store.getRun(`bad-${column}`)).toEqual(run)
    }
    expect(listed.items.find((item) => item.runId === 'good')).toMatchObject({
      status: 'running',
      metadata: { ok: true },
    })
    // The stored rows are left as they were, for an operator to inspect.
    const database = new Database(filename, { readonly: true })
    expect(database.prepare("select status from runs where run_id = 'bad-status'").pluck().get()).toBe(
      'exploded',
    )
    database.close()
    await store.close()
  })
})
