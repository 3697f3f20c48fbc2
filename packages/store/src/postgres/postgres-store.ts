import { type Store, StoreError } from '@vel/core'
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely'
import pg from 'pg'
import { migrateToLatest } from '../migrate.ts'
import { createSqlRuns } from '../sql/runs.ts'
import type { Database } from '../sql/schema.ts'
import { createSqlSessions } from '../sql/sessions.ts'
import { createSqlStore } from '../sql/sql-store.ts'
import { appendPostgres, appendStatements } from './append.ts'
import { appendSessionPostgres, appendSessionStatements } from './append-session.ts'
import { createRunPostgres, createRunStatements } from './create-run.ts'
import { postgresMigrations } from './migrations/index.ts'
import { putSnapshotPostgres, putSnapshotStatement } from './put-snapshot.ts'
import { createPostgresRunPath, runStatements } from './run-statements.ts'
import { createStatements } from './statements.ts'

const schemaName = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/**
 * A pool whose clients never crash the process. pg-pool listens for a client's `'error'` only
 * while it is idle; a checked-out client (in a query, or between the statements of a transaction)
 * whose connection is terminated emits `'error'` with no listener, which Node turns into an
 * uncaught exception. The listener added here ignores it: the query in flight rejects with the
 * error (mapped to a retryable `unavailable`), later queries on the client are refused, and
 * pg-pool drops a client that is no longer queryable when it is released, so the next call
 * connects afresh.
 */
const guardClients = (pool: PostgresPool): PostgresPool => {
  const guarded = new WeakSet<object>()
  const ignore = () => undefined
  return {
    async connect() {
      const client = await pool.connect()
      const emitter = client as unknown as { on?: (event: 'error', listener: () => void) => void }
      if (!guarded.has(client) && typeof emitter.on === 'function') {
        guarded.add(client)
        emitter.on('error', ignore)
      }
      return client
    },
    end: () => pool.end(),
  }
}

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
  /**
   * The schema holding Vel's tables and its migration tables (created by `migrate()`); defaults to
   * `public`. Every query and the migrator are pinned to it, so other schemas of the database
   * (even ones with their own Kysely migration tables) are never looked at.
   */
  readonly schema?: string
  /** The clock for timestamps and lease expiry (epoch ms); defaults to `Date.now`. */
  readonly now?: () => number
  /**
   * Whether the journal append and `putSnapshot` run as named prepared statements (parsed and
   * planned once per connection; default true). Set false behind a pooler that cannot keep a
   * connection's prepared statements, such as PgBouncer in transaction mode before 1.21.
   */
  readonly preparedStatements?: boolean
}

/**
 * A `Store` on Postgres through pg and Kysely. The journal append (with its lease fence, head
 * check and snapshot), `putSnapshot`, `createRun` with a lease, `appendSession` without a version
 * check, `getRun`, `updateRun`, the four lease operations and `getSession` are one statement
 * each, run straight on the pool as prepared statements (one round trip, no parse or plan per
 * call); everything else goes through Kysely. The (run_id, seq) primary key turns a concurrent
 * writer into a `conflict`.
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const now = options.now ?? Date.now
  const schema = options.schema ?? 'public'
  if (!schemaName.test(schema))
    throw new StoreError(
      'invalid-argument',
      `schema ${JSON.stringify(schema)} must be a plain identifier (letters, digits, _ and $, at most 63)`,
    )
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
  const guarded = guardClients(pool)
  const base = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) })
  const db = base.withSchema(schema)
  const statements = createStatements(guarded, options.preparedStatements ?? true)
  const appendShapes = appendStatements(schema)
  const put = putSnapshotStatement(schema)
  const createShapes = createRunStatements(schema)
  const context = {
    db,
    dialect: 'postgres' as const,
    now,
    transaction: <T>(body: (trx: Kysely<Database>) => Promise<T>) => db.transaction().execute(body),
  }
  const runs = createSqlRuns(context)
  const sessions = createSqlSessions(context)
  const sessionShapes = appendSessionStatements(schema)
  const runPath = createPostgresRunPath(statements, runStatements(schema), now)
  return createSqlStore(context, {
    // Kysely's Migrator creates the schema (tolerating a concurrent creator) before its tables, and
    // with a schema given looks for its migration tables there only (without, in every schema).
    migrate: () => migrateToLatest(db, postgresMigrations, schema),
    destroy: () => base.destroy(),
    overrides: {
      ...runPath,
      append: (runId, entries, expectedSeq, appendOptions) =>
        appendPostgres(statements, appendShapes, now, runId, entries, expectedSeq, appendOptions),
      putSnapshot: (runId, seq, state, schemaVersion) =>
        putSnapshotPostgres(statements, put, now, runId, seq, state, schemaVersion),
      createRun: (run) =>
        run.lease === undefined
          ? runs.createRun(run)
          : createRunPostgres(statements, createShapes, now, { ...run, lease: run.lease }),
      // With a version to check, the append stays a transaction (a refusal must undo the turn).
      appendSession: (sessionId, messages, expectedVersion, appendOptions) =>
        expectedVersion === undefined
          ? appendSessionPostgres(statements, sessionShapes, now, sessionId, messages, appendOptions?.runId)
          : sessions.appendSession(sessionId, messages, expectedVersion, appendOptions),
    },
  })
}
