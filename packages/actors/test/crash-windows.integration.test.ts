import { randomBytes } from 'node:crypto'
import type { Store } from '@vel/core'
import { createPostgresStore } from '@vel/store/postgres'
import pg from 'pg'
import { afterAll, afterEach, describe } from 'vitest'
import { crashWindows } from './run-support.ts'

/*
 * The crash windows of mailbox.test.ts (before passivation, after approval.decided, around the
 * run's last append, which carries its session turn) on Postgres. Fails loudly under VEL_REQUIRE_SERVICES=1 when Postgres is down.
 */

const url = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const probe = async (): Promise<boolean> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch (error) {
    if (process.env.VEL_REQUIRE_SERVICES === '1')
      throw new Error(
        `Postgres at ${url} is unreachable (${String(error)}), and VEL_REQUIRE_SERVICES=1 requires it`,
      )
    console.warn(`[skip] Postgres at ${url} is unreachable: skipping the Postgres crash windows`)
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}
const reachable = await probe()
const schemas: string[] = []
const stores: Store[] = []

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
})
afterAll(async () => {
  if (!reachable) return
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`)
  await admin.end()
})

describe.skipIf(!reachable)('crash windows (postgres)', () => {
  crashWindows('postgres', async () => {
    const schema = `vel_test_windows_${randomBytes(5).toString('hex')}`
    schemas.push(schema)
    const store = createPostgresStore({ connectionString: url, schema, maxConnections: 4 })
    await store.migrate()
    stores.push(store)
    return store
  })
})
