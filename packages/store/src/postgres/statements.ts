import { createHash } from 'node:crypto'
import type { PostgresPool } from 'kysely'
import pg from 'pg'

/** A statement of the hot path: its text and the name it is prepared under. */
export interface Statement {
  readonly name: string
  readonly text: string
}

/**
 * A statement named by a hash of its text, so stores of different schemas sharing one pool never
 * give one name two texts (pg refuses that).
 */
export const statement = (text: string): Statement => ({
  name: `vel_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`,
  text,
})

/** Runs hot-path statements on the store's pool, outside Kysely. */
export interface Statements {
  /** Runs one statement on a pooled client (one round trip) and returns its rows. */
  run<R>(statement: Statement, values: ReadonlyArray<unknown>): Promise<R[]>
}

/**
 * Statements on `pool`. With `prepare`, a pg client runs each as a named statement: parsed and
 * planned once per connection, then bind and execute only (the append's CTEs took about as long
 * to parse and plan as to run). A client that is not pg's (a pool of another driver) gets the
 * text each time.
 */
export const createStatements = (pool: PostgresPool, prepare: boolean): Statements => ({
  async run<R>(statement: Statement, values: ReadonlyArray<unknown>): Promise<R[]> {
    const client = await pool.connect()
    try {
      const result =
        prepare && client instanceof pg.Client
          ? await client.query<R & pg.QueryResultRow>({
              name: statement.name,
              text: statement.text,
              values: values as unknown[],
            })
          : await client.query<R>(statement.text, values)
      return result.rows as R[]
    } finally {
      client.release()
    }
  },
})
