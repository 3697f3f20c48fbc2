import type { Store } from '@vel/core'
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely'
import pg from 'pg'
import { migrateToLatest } from '../migrate.ts'
import type { Database } from '../sql/schema.ts'
import { createSqlStore } from '../sql/sql-store.ts'
import { appendPostgres } from './append.ts'
import { postgresMigrations } from './migrations/index.ts'

/** Options of `createPostgresStore`: a connection string (the store owns its pool) or your pool. */
export type PostgresStoreOptions = (
  | {
      /** e.g. `postgres://user@host:5432/db`; the store creates and ends its own pool. */
      readonly connectionString: string
      /** Pool size for the owned pool (default 10). */
      readonly maxConnections?: number
    }
  | {
      /** A pg `Pool` (or anything with `connect()`); `close()` leaves it open for its owner. */
      readonly pool: PostgresPool
    }
) & {
  /** The schema holding Vel's tables (created by `migrate()`); defaults to `public`. */
  readonly schema?: string
  /** The clock for timestamps and lease expiry (epoch ms); defaults to `Date.now`. */
  readonly now?: () => number
}

/**
 * A `Store` on Postgres through pg and Kysely. Everything goes through Kysely; the journal append
 * is one conditional insert, and the (run_id, seq) primary key turns a concurrent writer into a
 * `conflict`.
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const now = options.now ?? Date.now
  let pool: PostgresPool
  if ('pool' in options) {
    const shared = options.pool
    pool = { connect: () => shared.connect(), end: async () => undefined }
  } else {
    const owned = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
    })
    // An idle client that loses its server emits 'error'; the next query reports it instead.
    owned.on('error', () => undefined)
    pool = owned
  }
  const base = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const schema = options.schema
  const db = schema === undefined ? base : base.withSchema(schema)
  return createSqlStore(
    { db, dialect: 'postgres', now, transaction: (body) => db.transaction().execute(body) },
    {
      // Kysely's Migrator creates the schema (tolerating a concurrent creator) before its tables.
      migrate: () => migrateToLatest(db, postgresMigrations, schema),
      destroy: () => base.destroy(),
      overrides: {
        append: (runId, entries, expectedSeq, appendOptions) =>
          appendPostgres(db, schema, now, runId, entries, expectedSeq, appendOptions?.lease),
      },
    },
  )
}
