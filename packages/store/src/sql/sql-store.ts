import { type Store, StoreError } from '@vel/core'
import { toStoreError } from '../map-error.ts'
import type { SqlContext } from './context.ts'
import { createSqlJournal } from './journal.ts'
import { createSqlRuns } from './runs.ts'
import { createSqlSessions } from './sessions.ts'

/** What a dialect adds to the shared SQL operations. */
export interface SqlStoreParts {
  readonly migrate: () => Promise<void>
  /** Releases the connection(s); called once. */
  readonly destroy: () => Promise<void>
  /**
   * Called before each shared (Kysely) operation: SQLite runs the writes it has queued first, and
   * the first time loads Kysely (the operation then waits for the promise).
   */
  readonly beforeShared?: () => Promise<void> | undefined
  /**
   * The dialect's own operations (prepared statements: the append, a run's reads, updates and
   * leases, a session's read) and replacements for shared ones.
   */
  readonly overrides: Pick<
    Store,
    | 'append'
    | 'getRun'
    | 'updateRun'
    | 'acquireLease'
    | 'renewLease'
    | 'releaseLease'
    | 'getLease'
    | 'getSession'
  > &
    Partial<
      Pick<
        Store,
        | 'read'
        | 'lastSeq'
        | 'putSnapshot'
        | 'getSnapshot'
        | 'createRun'
        | 'listRuns'
        | 'appendSession'
        | 'replaceSession'
      >
    >
}

type Operations = Omit<Store, 'migrate' | 'close'>

/** The same operations, each calling `before` first (and waiting for it when it returns a promise). */
const preceded = <T extends object>(operations: T, before: () => Promise<void> | undefined): T =>
  Object.fromEntries(
    Object.entries(operations).map(([name, body]: [string, (...args: unknown[]) => unknown]) => [
      name,
      (...args: unknown[]) => {
        const ready = before()
        return ready === undefined ? body(...args) : ready.then(() => body(...args))
      },
    ]),
  ) as T

/**
 * Assembles a `Store` from the shared Kysely operations: every call fails with `closed` after
 * `close()`, and every driver error leaves as a `StoreError`.
 */
export function createSqlStore(context: SqlContext, parts: SqlStoreParts): Store {
  let closed = false
  const shared = {
    ...createSqlJournal(context),
    ...createSqlRuns(context),
    ...createSqlSessions(context),
  }
  const operations: Operations = {
    ...(parts.beforeShared === undefined ? shared : preceded(shared, parts.beforeShared)),
    ...parts.overrides,
  }
  const guard =
    <A extends unknown[], R>(action: string, body: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (closed) throw new StoreError('closed', `${action}: the store is closed`)
      try {
        return await body(...args)
      } catch (error) {
        throw toStoreError(error, action)
      }
    }
  const guarded = Object.fromEntries(
    Object.entries(operations).map(([name, body]) => [
      name,
      guard(name, body as (...args: unknown[]) => Promise<unknown>),
    ]),
  ) as unknown as Operations
  return {
    ...guarded,
    // Both dialects' appends take a session turn (ADR 0127).
    features: { sessionTurn: true },
    migrate: guard('migrate', parts.migrate),
    async close() {
      if (closed) return
      closed = true
      await parts.destroy()
    },
  }
}
