import { resolve } from 'node:path'
import type { Store } from '@vel/core'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { encodeCompact } from '../codec.ts'
import { createGate, type Gate } from '../gate.ts'
import { toStoreError } from '../map-error.ts'
import { migrateToLatest } from '../migrate.ts'
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
 * A `Store` on one SQLite file through better-sqlite3 in WAL mode. Migrations, listing, deleting
 * and the idempotency lookup go through Kysely; the journal (append, read, lastSeq, putSnapshot,
 * docs/decisions/0020-store.md) and a run's bookkeeping (create, get, update, leases, its session:
 * docs/decisions/0120-sqlite-run-path.md) use prepared statements on the same connection, and
 * the writes called in one turn of the event loop commit together (group commit,
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
  const db = new Kysely<Schema>({
    dialect: new SqliteDialect({ database: withStatementCache(connection) }),
  })
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
  const context = {
    db,
    dialect: 'sqlite' as const,
    now,
    encodeData: encodeCompact,
    // What was called before the section runs before it, in one batch of its own.
    transaction: <T>(body: (trx: Kysely<Schema>) => Promise<T>) =>
      gate.run(() => {
        group.flushNow()
        return db.transaction().execute(body)
      }),
  }
  return createSqlStore(context, {
    migrate: () =>
      gate.run(() => {
        group.flushNow()
        return migrateToLatest(db, sqliteMigrations)
      }),
    destroy: async () => {
      // What is queued, then any Kysely section still open.
      await group.settled()
      await read(() => undefined)
      shared.release()
      await db.destroy()
    },
    beforeShared: group.flush,
    // Writes wait for the end of the turn and commit with the others of it; a read with nothing
    // queued runs at once.
    overrides: {
      append: (runId, entries, expectedSeq, appendOptions) =>
        write(() => hot.append(runId, entries, expectedSeq, appendOptions)),
      read: (runId, readOptions = {}) =>
        read(() => hot.read(runId, readOptions.afterSeq ?? 0, readOptions.limit)),
      lastSeq: (runId) => read(() => hot.lastSeq(runId)),
      putSnapshot: (runId, seq, state, schemaVersion) =>
        write(() => hot.putSnapshot(runId, seq, state, schemaVersion)),
      createRun: (run) => write(() => runs.createRun(run)),
      getRun: (runId) => read(() => runs.getRun(runId)),
      updateRun: (runId, patch) => write(() => runs.updateRun(runId, patch)),
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
