import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, Migrator, NO_MIGRATIONS, SqliteDialect } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createSqliteStore, sqliteMigrations } from '../src/sqlite/index.ts'
import { expectStoreError } from '../src/testing.ts'

const directory = mkdtempSync(join(tmpdir(), 'vel-store-migrations-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
let files = 0
const newFile = () => join(directory, `m${++files}.db`)

const tables = (filename: string): string[] => {
  const database = new Database(filename, { readonly: true })
  try {
    return database
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'kysely%' order by name",
      )
      .pluck()
      .all() as string[]
  } finally {
    database.close()
  }
}

describe('SQLite migrations', () => {
  it('fail every operation with unavailable until migrate() is called', async () => {
    const store = createSqliteStore({ filename: newFile() })
    const error = await expectStoreError(store.append('run', [{ type: 'e', data: 1 }], 0), 'unavailable')
    expect(error.message).toContain('migrate()')
    await expectStoreError(store.getRun('run'), 'unavailable')
    await store.close()
  })

  it('are idempotent and keep data', async () => {
    const filename = newFile()
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.append('run', [{ type: 'e', data: 1 }], 0)
    await store.migrate()
    await store.close()
    const reopened = createSqliteStore({ filename })
    await reopened.migrate()
    expect(await reopened.lastSeq('run')).toBe(1)
    await reopened.close()
    expect(tables(filename)).toEqual([
      'journal',
      'leases',
      'runs',
      'session_messages',
      'session_turns',
      'sessions',
      'snapshots',
    ])
  })

  it('upgrade a version 1 database in place: its data stays and run turns become idempotent', async () => {
    const filename = newFile()
    const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(filename) }) })
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...sqliteMigrations }) } })
    expect((await migrator.migrateTo('0001-initial')).error).toBeUndefined()
    await db.destroy()
    // A session written by version 1 code.
    const old = createSqliteStore({ filename })
    expect(await old.appendSession('s', [{ role: 'user', content: 'old' }])).toBe(1)
    await old.append('run', [{ type: 'e', data: 1 }], 0)
    await expectStoreError(
      old.appendSession('s', [{ role: 'user', content: 'turn' }], undefined, { runId: 'run' }),
      'unavailable',
    )
    await old.close()
    expect(tables(filename)).not.toContain('session_turns')
    const store = createSqliteStore({ filename })
    await store.migrate()
    expect(tables(filename)).toContain('session_turns')
    expect(await store.getSession('s')).toMatchObject({
      version: 1,
      messages: [{ role: 'user', content: 'old' }],
    })
    expect(await store.lastSeq('run')).toBe(1)
    const turn = [{ role: 'user' as const, content: 'turn' }]
    expect(await store.appendSession('s', turn, 1, { runId: 'run' })).toBe(2)
    expect(await store.appendSession('s', turn, 1, { runId: 'run' })).toBe(2)
    expect((await store.getSession('s'))?.messages).toHaveLength(2)
    await store.close()
  })

  it('upgrade a version 2 database to compact tables: rows, leases, turns and keys carry over, old JSON still reads', async () => {
    const filename = newFile()
    const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(filename) }) })
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...sqliteMigrations }) } })
    expect((await migrator.migrateTo('0002-session-turns')).error).toBeUndefined()
    await db.destroy()
    // Rows as version 2 code wrote them: plain JSON everywhere.
    const old = new Database(filename)
    old
      .prepare("insert into journal values ('run', 1, 'e', 5, ?)")
      .run('{"type":"e","toolCallId":"c","at":5}')
    old
      .prepare(
        "insert into runs values ('run', 'agent', 's', null, 'key', 'running', '[]', 'null', 'null', '{}', 1, 1)",
      )
      .run()
    old.prepare("insert into leases values ('run', 'owner', 3, 9e15)").run()
    old.prepare("insert into sessions values ('s', 1, 1, 1)").run()
    old.prepare(`insert into session_messages values ('s', 0, '{"role":"user","content":"old"}')`).run()
    old.prepare("insert into session_turns values ('s', 'run')").run()
    old.close()
    const store = createSqliteStore({ filename })
    await store.migrate()
    expect(await store.read('run')).toEqual([
      { runId: 'run', seq: 1, type: 'e', at: 5, data: { type: 'e', toolCallId: 'c', at: 5 } },
    ])
    expect(await store.getLease('run')).toMatchObject({ ownerId: 'owner', epoch: 3 })
    expect(await store.acquireLease('run', 'other', 1000)).toBeUndefined()
    await store.append('run', [{ type: 'e', data: { type: 'e', toolCallId: 'd' } }], 1, {
      lease: { ownerId: 'owner', epoch: 3 },
    })
    expect((await store.read('run', { afterSeq: 1 }))[0]?.data).toEqual({ type: 'e', toolCallId: 'd' })
    // The run's turn is already in the session: a repeat changes nothing.
    expect(
      await store.appendSession('s', [{ role: 'user', content: 'again' }], undefined, { runId: 'run' }),
    ).toBe(1)
    expect((await store.getSession('s'))?.messages).toEqual([{ role: 'user', content: 'old' }])
    expect((await store.findRunByIdempotencyKey('agent', 'key'))?.runId).toBe('run')
    await expectStoreError(
      store.createRun({ runId: 'other', agentId: 'agent', idempotencyKey: 'key' }),
      'conflict',
    )
    expect((await store.listRuns({ sessionId: 's' })).items.map((run) => run.runId)).toEqual(['run'])
    await store.close()
    const database = new Database(filename, { readonly: true })
    const definitions = database
      .prepare(
        "select name, sql from sqlite_master where name in ('leases', 'sessions', 'session_turns', 'runs_by_session_id')",
      )
      .all() as { name: string; sql: string }[]
    database.close()
    expect(definitions).toHaveLength(4)
    for (const { name, sql } of definitions)
      expect(sql, name).toMatch(
        name === 'runs_by_session_id' ? /where "session_id" is not null/i : /without rowid/i,
      )
  })

  it('refuse a database migrated by newer code with schema-too-new, changing nothing', async () => {
    const filename = newFile()
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.append('run', [{ type: 'e', data: 1 }], 0)
    const database = new Database(filename)
    database
      .prepare("insert into kysely_migration (name, timestamp) values ('9999-from-the-future', 'x')")
      .run()
    database.close()
    const error = await expectStoreError(store.migrate(), 'schema-too-new')
    expect(error.message).toContain('9999-from-the-future')
    expect(await store.lastSeq('run')).toBe(1)
    await store.close()
  })

  it('have a down that removes every table', async () => {
    const filename = newFile()
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.close()
    const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(filename) }) })
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...sqliteMigrations }) } })
    const { error } = await migrator.migrateTo(NO_MIGRATIONS)
    await db.destroy()
    expect(error).toBeUndefined()
    expect(tables(filename)).toEqual([])
  })

  it('leave the file in WAL mode with either synchronous setting', async () => {
    const settings = async (synchronous?: 'NORMAL' | 'FULL') => {
      const filename = newFile()
      const store = createSqliteStore(synchronous === undefined ? { filename } : { filename, synchronous })
      await store.migrate()
      await store.close()
      const database = new Database(filename)
      try {
        return database.pragma('journal_mode', { simple: true })
      } finally {
        database.close()
      }
    }
    expect(await settings()).toBe('wal')
    expect(await settings('FULL')).toBe('wal')
  })

  it('report a missing directory as unavailable', () => {
    expect(() => createSqliteStore({ filename: join(directory, 'missing', 'x.db') })).toThrow(
      expect.objectContaining({ _tag: 'StoreError', reason: 'unavailable' }),
    )
  })

  it('report a file that is not a database as corrupted', async () => {
    const filename = newFile()
    writeFileSync(filename, 'this is not a SQLite database, just text that is long enough '.repeat(20))
    let thrown: unknown
    try {
      const store = createSqliteStore({ filename })
      await store.migrate()
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ _tag: 'StoreError', reason: 'corrupted' })
  })
})
