import { randomBytes } from 'node:crypto'
import type { Store } from '@vel/core'
import { Kysely, Migrator, PostgresDialect } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createPostgresStore, postgresMigrations } from '../src/postgres/index.ts'
import { describeStore, expectStoreError } from '../src/testing.ts'
import { fixtures } from './fixtures.ts'
import { createPostgresScratch } from './postgres-scratch.ts'
import { probePostgres } from './services.ts'

const reachable = await probePostgres()
const scratch = createPostgresScratch('conformance', reachable)

/** Overwrites one column of a run's index row with raw SQL. */
const corruptRun = async (schema: string, runId: string, column: string, value: string): Promise<void> => {
  const result = await scratch.query(`update ${schema}.runs set ${column} = $1 where run_id = $2`, [
    value,
    runId,
  ])
  if (result.rowCount !== 1) throw new Error(`no run ${runId}`)
}

// Every store gets its own pool, so two stores of one test are two independent connections.
describeStore(
  'postgres',
  ({ now }) =>
    createPostgresStore({ connectionString: scratch.url, schema: scratch.schema, now, maxConnections: 2 }),
  {
    skip: !reachable,
    fixtures,
    corrupt: async ({ kind, id, seq }) => {
      if (kind === 'run') return corruptRun(scratch.schema, id, 'metadata', '{"cut')
      const [table, column, key, position] =
        kind === 'journal'
          ? ['journal', 'data', 'run_id', 'seq']
          : kind === 'snapshot'
            ? ['snapshots', 'state', 'run_id', 'seq']
            : ['session_messages', 'message', 'session_id', 'position']
      const sql = `update ${scratch.schema}.${table} set ${column} = '{"cut' where ${key} = $1 and ${position} = $2`
      const result = await scratch.query(sql, [id, seq])
      if (result.rowCount !== 1) throw new Error(`no ${kind} row ${id}#${seq}`)
    },
  },
)

describe.skipIf(!reachable)('Postgres store specifics', () => {
  it('migrates idempotently, also from two pools at once, and refuses a newer schema', async () => {
    const schema = scratch.another()
    const [a, b] = [1, 2].map(() => createPostgresStore({ connectionString: scratch.url, schema }))
    await Promise.all([a!.migrate(), b!.migrate()])
    await a!.append('run', [{ type: 'e', data: 1 }], 0)
    await b!.migrate()
    expect(await b!.lastSeq('run')).toBe(1)
    await scratch.query(
      `insert into ${schema}.kysely_migration (name, timestamp) values ('9999-from-the-future', 'x')`,
    )
    const error = await expectStoreError(a!.migrate(), 'schema-too-new')
    expect(error.message).toContain('9999-from-the-future')
    expect(await a!.lastSeq('run')).toBe(1)
    await Promise.all([a!.close(), b!.close()])
  })

  it('fails with unavailable before migrate() and when the server cannot be reached', async () => {
    const store = createPostgresStore({ connectionString: scratch.url, schema: scratch.another() })
    const missing = await expectStoreError(store.lastSeq('run'), 'unavailable')
    expect(missing.message).toContain('migrate()')
    await store.close()
    const refused = createPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/none' })
    const error = await expectStoreError(refused.migrate(), 'unavailable')
    expect(error.retryable).toBe(true)
    await refused.close()
  })

  it('lists runs whose index rows do not decode as corrupted, one bad column each, and the rest as usual', async () => {
    const schema = scratch.another()
    const store = createPostgresStore({ connectionString: scratch.url, schema, maxConnections: 2 })
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
    for (const [column, value] of damage) await corruptRun(schema, `bad-${column}`, column, value)
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
    const stored = await scratch.query(`select status from ${schema}.runs where run_id = 'bad-status'`)
    expect(stored.rows).toEqual([{ status: 'exploded' }])
    await store.close()
  })

  it('upgrades a version 1 schema in place: its data stays and run turns become idempotent', async () => {
    const schema = scratch.another()
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: scratch.url, max: 1 }) }),
    }).withSchema(schema)
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => ({ ...postgresMigrations }) },
      migrationTableSchema: schema,
    })
    expect((await migrator.migrateTo('0001-initial')).error).toBeUndefined()
    await db.destroy()
    const old = createPostgresStore({ connectionString: scratch.url, schema, maxConnections: 1 })
    expect(await old.appendSession('s', [{ role: 'user', content: 'old' }])).toBe(1)
    await old.close()
    const store = createPostgresStore({ connectionString: scratch.url, schema, maxConnections: 2 })
    await store.migrate()
    expect(await store.getSession('s')).toMatchObject({
      version: 1,
      messages: [{ role: 'user', content: 'old' }],
    })
    const turn = [{ role: 'user' as const, content: 'turn' }]
    expect(await store.appendSession('s', turn, 1, { runId: 'run' })).toBe(2)
    expect(await store.appendSession('s', turn, 1, { runId: 'run' })).toBe(2)
    expect((await store.getSession('s'))?.messages).toHaveLength(2)
    const applied = await scratch.query(`select name from ${schema}.kysely_migration order by name`)
    expect(applied.rows.map((row) => row.name)).toEqual(Object.keys(postgresMigrations))
    await store.close()
  })

  it('migrates into its own schema when another schema of the database holds Kysely migration tables', async () => {
    // A database of its own, so the default schema (public) is this test's alone.
    const database = `vel_test_pin_${randomBytes(5).toString('hex')}`
    await scratch.query(`create database ${database}`)
    const url = new URL(scratch.url)
    url.pathname = `/${database}`
    try {
      // Another application's migrations, in schema other_app.
      const other = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.href, max: 1 }) }),
      })
      const migrator = new Migrator({
        db: other.withSchema('other_app'),
        provider: {
          getMigrations: async () => ({
            '1-things': {
              // biome-ignore lint/suspicious/noExplicitAny: a migration of an unknown schema
              up: async (db: Kysely<any>) => {
                await db.schema.createTable('things').addColumn('id', 'integer').execute()
              },
            },
          }),
        },
        migrationTableSchema: 'other_app',
      })
      expect((await migrator.migrateToLatest()).error).toBeUndefined()
      await other.destroy()
      for (const schema of [undefined, 'vel_b']) {
        const store = createPostgresStore({
          connectionString: url.href,
          maxConnections: 2,
          ...(schema === undefined ? {} : { schema }),
        })
        await store.migrate()
        await store.migrate()
        expect(await store.append('run', [{ type: 'e', data: schema ?? 'public' }], 0)).toBe(1)
        await store.close()
      }
      const admin = new pg.Client({ connectionString: url.href })
      await admin.connect()
      const tables = await admin.query(
        `select table_schema, count(*)::int as count from information_schema.tables
         where table_name like 'kysely_migration%' group by table_schema order by table_schema`,
      )
      await admin.end()
      expect(tables.rows).toEqual([
        { table_schema: 'other_app', count: 2 },
        { table_schema: 'public', count: 2 },
        { table_schema: 'vel_b', count: 2 },
      ])
    } finally {
      await scratch.query(`drop database if exists ${database} with (force)`)
    }
  })

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createPostgresStore({ connectionString: scratch.url, schema: 'a.b; drop' })).toThrow(
      expect.objectContaining({ _tag: 'StoreError', reason: 'invalid-argument' }),
    )
  })

  it('appends, puts a snapshot, creates a leased run and appends a turn in one query (one round trip) each', async () => {
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 })
    let queries = 0
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown
      Object.assign(client, {
        query: (...args: unknown[]) => {
          queries += 1
          return query(...args)
        },
      })
    })
    const store = createPostgresStore({ pool, schema: scratch.another() })
    await store.migrate()
    const lease = await store.acquireLease('run', 'worker', 60_000)
    if (lease === undefined) throw new Error('no lease')
    const count = async (body: () => Promise<unknown>) => {
      queries = 0
      await body().catch(() => undefined)
      return queries
    }
    const snapshot = { state: { step: 1 }, schemaVersion: 1 }
    expect(await count(() => store.append('run', [{ type: 'e', data: 1 }], 0, { lease, snapshot }))).toBe(1)
    expect(await count(() => store.append('run', [{ type: 'e', data: 2 }], 1, { lease }))).toBe(1)
    expect(await count(() => store.append('run', [{ type: 'e', data: 3 }], 2))).toBe(1)
    await expectStoreError(
      store.append('run', [{ type: 'e', data: 'x' }], 0, { lease, snapshot }),
      'conflict',
    )
    expect(await count(() => store.append('run', [{ type: 'e', data: 'x' }], 0, { lease, snapshot }))).toBe(1)
    const stale = { ownerId: 'worker', epoch: lease.epoch + 1 }
    await expectStoreError(store.append('run', [{ type: 'e', data: 'x' }], 3, { lease: stale }), 'fenced')
    expect(await count(() => store.append('run', [{ type: 'e', data: 'x' }], 3, { lease: stale }))).toBe(1)
    expect(await store.lastSeq('run')).toBe(3)
    expect(await store.getSnapshot('run')).toMatchObject({ seq: 1, state: { step: 1 } })
    // putSnapshot too, also when it refuses a seq past the journal.
    expect(await count(() => store.putSnapshot('run', 3, { step: 3 }, 1))).toBe(1)
    expect(await count(() => store.putSnapshot('run', 4, { step: 4 }, 1))).toBe(1)
    await expectStoreError(store.putSnapshot('run', 4, { step: 4 }, 1), 'invalid-argument')
    expect(await store.getSnapshot('run')).toMatchObject({ seq: 3, state: { step: 3 } })
    // createRun with its lease, and a run's turn appended to a session (new, then existing, then
    // written again): one query each.
    const owned = { ownerId: 'worker', ttlMs: 60_000 }
    expect(await count(() => store.createRun({ runId: 'r1', agentId: 'a', lease: owned }))).toBe(1)
    expect(
      await count(() =>
        store.createRun({ runId: 'r2', agentId: 'a', sessionId: 's', claimSession: false, lease: owned }),
      ),
    ).toBe(1)
    expect(await store.getLease('r1')).toMatchObject({ ownerId: 'worker', epoch: 1 })
    // The last entry with the run's final index row (ADR 0117), also when refused.
    const r1 = (await store.getLease('r1')) as NonNullable<Awaited<ReturnType<typeof store.getLease>>>
    const final = { status: 'completed', answer: 'ok', error: null, pending: [] } as const
    const last = (seq: number) =>
      store.append('r1', [{ type: 'e', data: 1 }], seq, { lease: r1, snapshot, run: final })
    expect(await count(() => last(1))).toBe(1)
    expect(await count(() => last(0))).toBe(1)
    expect(await store.getRun('r1')).toMatchObject({ status: 'completed', answer: 'ok' })
    const turn = (runId: string) =>
      store.appendSession('s', [{ role: 'user', content: runId }], undefined, { runId })
    expect(await count(() => turn('r1'))).toBe(1)
    expect(await count(() => turn('r2'))).toBe(1)
    expect(await count(() => store.appendSession('s', [{ role: 'user', content: 'plain' }]))).toBe(1)
    expect(await turn('r1')).toBe(3)
    expect(await store.getSession('s')).toMatchObject({
      version: 3,
      messages: [
        { role: 'user', content: 'r1' },
        { role: 'user', content: 'r2' },
        { role: 'user', content: 'plain' },
      ],
    })
    await store.close()
    await pool.end()
  })

  it('prepares the append, putSnapshot and the lease once per connection, per schema, unless told not to', async () => {
    // One connection, shared by two stores of different schemas and one that does not prepare.
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 })
    const prepared = async () =>
      (
        await pool.query<{ name: string }>(
          "select name from pg_prepared_statements where name like 'vel\\_%'",
        )
      ).rows.length
    const [first, second] = [scratch.another(), scratch.another()].map((schema) =>
      createPostgresStore({ pool, schema }),
    ) as [Store, Store]
    const unprepared = createPostgresStore({ pool, schema: scratch.another(), preparedStatements: false })
    for (const store of [first, second, unprepared]) await store.migrate()
    const lease = await first.acquireLease('run', 'worker', 60_000)
    if (lease === undefined) throw new Error('no lease')
    for (let seq = 0; seq < 3; seq++)
      await first.append('run', [{ type: 'e', data: seq }], seq, {
        lease,
        snapshot: { state: { seq }, schemaVersion: 1 },
      })
    await first.putSnapshot('run', 3, { seq: 3 }, 1)
    // The lease, the append with a snapshot, putSnapshot.
    expect(await prepared()).toBe(3)
    // Same shapes, another schema: other texts, other names, on the same connection.
    await second.append('run', [{ type: 'e', data: 0 }], 0)
    await second.append('run', [{ type: 'e', data: 1 }], 1)
    expect(await prepared()).toBe(4)
    await unprepared.acquireLease('run', 'worker', 60_000)
    await unprepared.append('run', [{ type: 'e', data: 0 }], 0)
    await unprepared.putSnapshot('run', 1, { seq: 1 }, 1)
    expect(await prepared()).toBe(4)
    expect((await first.read('run')).map((entry) => entry.data)).toEqual([0, 1, 2])
    expect(await first.getSnapshot('run')).toMatchObject({ seq: 3, state: { seq: 3 } })
    expect((await unprepared.read('run')).map((entry) => entry.data)).toEqual([0])
    for (const store of [first, second, unprepared]) await store.close()
    await pool.end()
  })

  it('appends many entries of any text in one statement, exactly as given', async () => {
    const store = createPostgresStore({ connectionString: scratch.url, schema: scratch.another() })
    await store.migrate()
    // Text an array literal would have to escape: quotes, backslashes, braces, commas, NULL, blanks.
    const awkward = [
      '"',
      '\\',
      '\\"',
      '{}',
      '{"a":[1,2]}',
      'a,b',
      'NULL',
      '',
      ' ',
      '\n\t',
      'é😀',
      '\u0001',
      '\u0000',
    ]
    const entries = awkward.map((text, index) => ({
      type: index % 2 === 0 ? 'odd"type\\' : '{type,}',
      data: { text, nested: [text, { text }] },
      at: 1_000 + index,
    }))
    expect(await store.append('run', entries, 0)).toBe(entries.length)
    expect(await store.append('run', entries.slice(0, 2), entries.length)).toBe(entries.length + 2)
    const read = await store.read('run')
    expect(read.map(({ seq, type, at, data }) => ({ seq, type, at, data }))).toEqual(
      [...entries, ...entries.slice(0, 2)].map((entry, index) => ({ seq: index + 1, ...entry })),
    )
    // A value Postgres refuses leaves nothing behind: a time that is not an integer.
    await expectStoreError(
      store.append('run', [{ type: 'e', data: 1, at: 1.5 }], read.length),
      'invalid-argument',
    )
    expect(await store.lastSeq('run')).toBe(read.length)
    await store.close()
  })

  it('uses a caller pool without ending it', async () => {
    const pool = new pg.Pool({ connectionString: scratch.url, max: 2 })
    const store = createPostgresStore({ pool, schema: scratch.another() })
    await store.migrate()
    expect(await store.append('run', [{ type: 'e', data: 'x' }], 0)).toBe(1)
    await store.close()
    await expectStoreError(store.read('run'), 'closed')
    expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    await pool.end()
  })
})
