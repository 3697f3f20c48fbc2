import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createPostgresStore } from '../src/postgres/index.ts'
import { describeStore, expectStoreError } from '../src/testing.ts'
import { fixtures } from './fixtures.ts'
import { createPostgresScratch } from './postgres-scratch.ts'
import { probePostgres } from './services.ts'

const reachable = await probePostgres()
const scratch = createPostgresScratch('conformance', reachable)

// Every store gets its own pool, so two stores of one test are two independent connections.
describeStore(
  'postgres',
  ({ now }) =>
    createPostgresStore({ connectionString: scratch.url, schema: scratch.schema, now, maxConnections: 2 }),
  {
    skip: !reachable,
    fixtures,
    corrupt: async ({ kind, id, seq }) => {
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
