import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll } from 'vitest'
import { postgresUrl } from './services.ts'

/** A schema created for one test file, dropped (with everything in it) after the file's tests. */
export interface PostgresScratch {
  readonly url: string
  readonly schema: string
  /** Runs SQL as the test's admin connection (for corrupting rows and checking state). */
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>
}

/** Registers an `afterAll` that drops the scratch schema; the schema itself is created by `migrate()`. */
export function createPostgresScratch(purpose: string): PostgresScratch {
  const schema = `vel_test_${purpose}_${randomBytes(5).toString('hex')}`
  let admin: pg.Pool | undefined
  const pool = () => {
    admin ??= new pg.Pool({ connectionString: postgresUrl, max: 2 })
    return admin
  }
  afterAll(async () => {
    if (admin === undefined) return
    await admin.query(`drop schema if exists ${schema} cascade`)
    await admin.end()
  })
  return { url: postgresUrl, schema, query: (text, values) => pool().query(text, values) }
}
