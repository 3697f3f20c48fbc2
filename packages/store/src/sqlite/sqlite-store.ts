import { resolve } from 'node:path'
import type { Store } from '@vel/core'
import Database from 'better-sqlite3'
import type { Kysely } from 'kysely'
import { encodeCompact } from '../codec.ts'
import { createGate, type Gate } from '../gate.ts'
import { toStoreError } from '../map-error.ts'
import { checkKnown, migrateToLatest } from '../migrate.ts'
import type { Database as Schema } from '../sql/schema.ts'
import { createSqlStore } from '../sql/sql-store.ts'
import type { SqliteConnection } from './driver.ts'
import { createGroupCommit } from './group-commit.ts'
import { createSqliteHotPath } from './hot-path.ts'
import { sqliteMigrations } from './migrations/index.ts'
import { createSqliteRunPath } from './run-path.ts'

/** Options of `createSqliteStore`. */
export interface SqliteStoreOptions {
  /** The database file (`:memory:` for a private in-memory database). */
  readonly filename: string
  /** `NORMAL` (default) survives a process crash; `FULL` also survives power loss, at a cost per commit. */
  readonly synchronous?: 'NORMAL' | 'FULL'
  /** How long a write waits for another connection's lock before `unavailable` (default 5000 ms). */
  readonly busyTimeoutMs?: number
  /** The clock for timestamps and lease expiry (epoch ms); defaults to `Date.now`. */
  readonly now?: () => number
}

/**
 * The connection as Kysely sees it, with compiled statements reused by SQL text. Kysely prepares
 * every query anew, and better-sqlite3's `prepare` (SQL parsing and planning) was the largest
 * single cost of a run's bookkeeping (createRun, leases, sessions, updateRun). Bounded, oldest out.
 */
function withStatementCache(connection: Database.Database, size = 256) {
  const cache = new Map<string, Database.Statement>()
  return {
    close: () => connection.close(),
    prepare: (sql: string) => {
      let statement = cache.get(sql)
      if (statement === undefined) {
        statement = connection.prepare(sql)
        if (cache.size >= size) cache.delete(cache.keys().next().value as string)
        cache.set(sql, statement)
      }
      return statement
    },
  }
}

/**
 * Whether the database has run every migration of this code, read with a plain statement (no
 * Kysely); `false` when it has no migration table yet. A migration this code does not know is
 * `schema-too-new`, as `migrateToLatest` says.
 */
function migrated(connection: Database.Database): boolean {
  let names: string[]
  try {
    names = connection.prepare('select name from kysely_migration').pluck().all() as string[]
  } catch (error) {
    if (/no such table/.test((error as Error).message)) return false
    throw error
  }
  return checkKnown(names, sqliteMigrations)
}

/**
 * A `Store` on one SQLite file through better-sqlite3 in WAL mode. Migrations, deleting and the
 * idempotency lookup go through Kysely, which loads on the first of them (a migrated database
 * needs none to open: ADR 0126); the journal (append, read, lastSeq, snapshots,
 * docs/decisions/0020-store.md), a run's bookkeeping (create, get, update, leases, its session:
 * docs/decisions/0120-sqlite-run-path.md) and listing runs use prepared statements on the same
 * connection, and the writes called in one turn of the event loop commit together (group commit,
 * docs/decisions/0123-sqlite-group-commit.md).
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const now = options.now ?? Date.now
  let connection: Database.Database
  try {
    connection = new Database(options.filename)
    connection.pragma('journal_mode = WAL')
    connection.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`)
    connection.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
  } catch (error) {
    throw toStoreError(error, `open ${options.filename}`)
  }
  const shared = gateFor(options.filename)
  const gate = shared.gate
  const hot = createSqliteHotPath(connection satisfies SqliteConnection, now)
  const runs = createSqliteRunPath(connection, now, hot)
  // A synchronous statement must not run inside an open Kysely transaction on the same connection,
  // nor wait (blocking the event loop) on another connection of this process that holds the lock.
  // Writes are grouped: one commit for all the runs that write in one turn (ADR 0123).
  const group = createGroupCommit(connection, () => gate.idle())
  const write = group.run
  const read = group.read
  // Kysely over the same connection, made on first need: its code loads with it (ADR 0126).
  let db: Kysely<Schema> | undefined
  let loading: Promise<Kysely<Schema>> | undefined
  const kysely = (): Promise<Kysely<Schema>> => {
    loading ??= import('../kysely.ts').then(({ Kysely, SqliteDialect }) => {
      db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) })
      return db
    })
    return loading
  }
  const context = {
    get db(): Kysely<Schema> {
      if (db === undefined) throw new Error('the SQLite store used Kysely before loading it')
      return db
    },
    dialect: 'sqlite' as const,
    now,
    encodeData: encodeCompact,
    // What was called before the section runs before it, in one batch of its own.
    transaction: <T>(body: (trx: Kysely<Schema>) => Promise<T>) =>
      gate.run(() => {
        group.flushNow()
        return (db as Kysely<Schema>).transaction().execute(body)
      }),
  }
  return createSqlStore(context, {
    // One section of the gate, entered at the call: `close()` waits for it, and no other section
    // runs on the connection meanwhile. A database at this code's schema takes one plain statement;
    // any other, Kysely's migrator.
    migrate: () =>
      gate.run(async () => {
        group.flushNow()
        if (migrated(connection)) return
        const loaded = await kysely()
        group.flushNow()
        await migrateToLatest(loaded, sqliteMigrations)
      }),
    destroy: async () => {
      // What is queued, then any section still open (a Kysely transaction, a migration).
      await group.settled()
      await read(() => undefined)
      shared.release()
      const loaded = loading === undefined ? undefined : await loading.catch(() => undefined)
      await loaded?.destroy()
      // Kysely closes the connection only if it ever ran a query on it.
      if (connection.open) connection.close()
    },
    // Queued writes first; the first shared operation waits for Kysely to load.
    beforeShared: () => {
      group.flush()
      return db === undefined ? kysely().then(() => undefined) : undefined
    },
    // Writes wait for the end of the turn and commit with the others of it; a read with nothing
    // queued runs at once.
    overrides: {
      append: (runId, entries, expectedSeq, appendOptions) =>
        write(() =>
          appendOptions?.session === undefined
            ? hot.append(runId, entries, expectedSeq, appendOptions)
            : runs.appendWithTurn(runId, entries, expectedSeq, appendOptions, appendOptions.session),
        ),
      read: (runId, readOptions = {}) =>
        read(() => hot.read(runId, readOptions.afterSeq ?? 0, readOptions.limit)),
      lastSeq: (runId) => read(() => hot.lastSeq(runId)),
      putSnapshot: (runId, seq, state, schemaVersion) =>
        write(() => hot.putSnapshot(runId, seq, state, schemaVersion)),
      getSnapshot: (runId) => read(() => runs.getSnapshot(runId)),
      createRun: (run) => write(() => runs.createRun(run)),
      getRun: (runId) => read(() => runs.getRun(runId)),
      updateRun: (runId, patch) => write(() => runs.updateRun(runId, patch)),
      listRuns: (filter = {}, page = {}) => read(() => runs.listRuns(filter, page)),
      acquireLease: (runId, ownerId, ttlMs) => write(() => runs.acquireLease(runId, ownerId, ttlMs)),
      renewLease: (lease, ttlMs) => write(() => runs.renewLease(lease, ttlMs)),
      releaseLease: (lease) => write(() => runs.releaseLease(lease)),
      getLease: (runId) => read(() => runs.getLease(runId)),
      getSession: (sessionId) => read(() => runs.getSession(sessionId)),
      appendSession: (sessionId, messages, expectedVersion, sessionOptions) =>
        write(() => runs.appendSession(sessionId, messages, expectedVersion, sessionOptions?.runId)),
      replaceSession: (sessionId, messages, expectedVersion) =>
        write(() => runs.replaceSession(sessionId, messages, expectedVersion)),
    },
  })
}

// One gate per file for all stores of this process: a Kysely transaction spans several awaits, and
// another connection of the same process waiting on its lock would block the event loop it needs.
const gates = new Map<string, { gate: Gate; users: number }>()

const gateFor = (filename: string): { gate: Gate; release: () => void } => {
  if (filename === '' || filename === ':memory:') return { gate: createGate(), release: () => undefined }
  const key = resolve(filename)
  const entry = gates.get(key) ?? { gate: createGate(), users: 0 }
  entry.users += 1
  gates.set(key, entry)
  let released = false
  return {
    gate: entry.gate,
    release: () => {
      if (released) return
      released = true
      entry.users -= 1
      if (entry.users === 0) gates.delete(key)
    },
  }
}
