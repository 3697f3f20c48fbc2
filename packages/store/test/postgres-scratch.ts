import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll } from 'vitest'
import { postgresUrl } from './services.ts'

/** A schema created for one test file, dropped (with everything in it) after the file's tests. */
export interface PostgresScratch {
  readonly url: string
  readonly schema: string
  /** Another schema name, dropped with the scratch schema. */
  another(): string
  /** Runs SQL as the test's admin connection (for corrupting rows and checking state). */
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>
}

/** Registers an `afterAll` that drops the scratch schema; the schema itself is created by `migrate()`. */
export function createPostgresScratch(purpose: string, reachable: boolean): PostgresScratch {
  const schema = `vel_test_${purpose}_${randomBytes(5).toString('hex')}`
  const schemas = [schema]
  let admin: pg.Pool | undefined
  const pool = () => {
    admin ??= new pg.Pool({ connectionString: postgresUrl, max: 2 })
    return admin
  }
  // Always drop: migrate() creates the schemas even in runs that never needed the admin pool.
  afterAll(async () => {
    if (!reachable) return
    const connection = pool()
    try {
      for (const name of schemas) await connection.query(`drop schema if exists ${name} cascade`)
    } catch (error) {
      console.warn(`[cleanup] could not drop ${schemas.join(', ')}: ${String(error)}`)
    } finally {
      await connection.end()
    }
  })
  return {
    url: postgresUrl,
    schema,
    another: () => {
      const name = `${schema}_${schemas.length}`
      schemas.push(name)
      return name
    },
    query: (text, values) => pool().query(text, values),
  }
}
