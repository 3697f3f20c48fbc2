import type { SqliteConnection, SqliteStatement } from './driver.ts'

/**
 * Group commit on one SQLite connection (ADR 0123). The store's synchronous operations are queued
 * and run together at the end of the current turn of microtasks, in the order they were called,
 * inside one `BEGIN IMMEDIATE` transaction: one commit for every run that wrote in that turn,
 * instead of one each. Every caller's promise settles only after that commit, so what it was told
 * is durable is durable. An operation of more than one statement is a better-sqlite3 transaction
 * function, which nests as a savepoint; a single statement that fails is undone by SQLite alone.
 * So one operation's refusal (a `conflict`, another owner's lease) undoes only its own writes.
 */
export interface GroupCommit {
  /** Queues `body`; settles once its batch has committed (or failed). */
  run<T>(body: () => T): Promise<T>
  /**
   * Runs `body` now when nothing is queued (a read needs no commit), else queues it after the
   * operations called before it, so it sees their writes.
   */
  read<T>(body: () => T): Promise<T>
  /** Runs what is queued now, unless the connection is busy (`idle` pending). */
  flush(): void
  /** Runs what is queued now: for a gate section, before it opens its own transaction. */
  flushNow(): void
  /** Resolves once nothing is queued. */
  settled(): Promise<void>
}

interface Queued {
  readonly body: () => unknown
  /**
   * A read: it acknowledges nothing, so a batch that fails runs it again (once) instead of
   * failing it.
   */
  readonly read: boolean
  retried?: true
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

/** The most operations one transaction holds: bounds how long the file's write lock is held. */
const batchLimit = 256

/**
 * `idle` is the store's gate: pending while a Kysely transaction of this process is open on the
 * file, when nothing may run on the connection.
 */
export function createGroupCommit(
  connection: Pick<SqliteConnection, 'prepare' | 'inTransaction'>,
  idle: () => Promise<void> | undefined,
): GroupCommit {
  let queue: Queued[] = []
  let scheduled = false
  let waiters: Array<() => void> = []
  let statements: Record<'begin' | 'commit' | 'rollback', SqliteStatement> | undefined
  const prepared = () => {
    statements ??= {
      begin: connection.prepare('begin immediate'),
      commit: connection.prepare('commit'),
      rollback: connection.prepare('rollback'),
    }
    return statements
  }

  /**
   * The batch's writes failed with `error` and none of them is kept: they fail; its reads (which
   * may have seen those writes) are returned, to run again.
   */
  const fail = (batch: ReadonlyArray<Queued>, error: unknown): Queued[] => {
    const again: Queued[] = []
    for (const queued of batch)
      if (queued.read && queued.retried === undefined) {
        queued.retried = true
        again.push(queued)
      } else queued.reject(error)
    return again
  }

  const runBatch = (batch: Queued[]): void => {
    // Alone in its turn: the operation is its own transaction, as without grouping.
    if (batch.length === 1) {
      const [only] = batch as [Queued]
      try {
        only.resolve(only.body())
      } catch (error) {
        only.reject(error)
      }
      return
    }
    let commit: SqliteStatement
    let rollback: SqliteStatement
    try {
      const prepare = prepared()
      commit = prepare.commit
      rollback = prepare.rollback
      prepare.begin.run()
    } catch (error) {
      for (const queued of batch) queued.reject(error)
      return
    }
    const results: Array<{ ok: boolean; value: unknown }> = []
    for (const [index, queued] of batch.entries()) {
      try {
        results.push({ ok: true, value: queued.body() })
      } catch (error) {
        if (!connection.inTransaction) {
          // SQLite rolled the whole transaction back (a full disk, an I/O error): every write of
          // the batch so far is gone and fails with the error; this operation fails; the rest run
          // again (the caller's loop takes them next).
          const again = fail(batch.slice(0, index), error)
          queued.reject(error)
          queue = [...again, ...batch.slice(index + 1), ...queue]
          return
        }
        results.push({ ok: false, value: error })
      }
    }
    try {
      commit.run()
    } catch (error) {
      try {
        if (connection.inTransaction) rollback.run()
      } catch {
        // The connection is unusable; the next batch's BEGIN says so to its callers.
      }
      queue = [...fail(batch, error), ...queue]
      return
    }
    for (const [index, queued] of batch.entries()) {
      const result = results[index] as { ok: boolean; value: unknown }
      if (result.ok) queued.resolve(result.value)
      else queued.reject(result.value)
    }
  }

  // The scheduled run: waits while a Kysely transaction is open, then runs what is queued.
  const flushWhenIdle = (): void => {
    scheduled = false
    const busy = idle()
    if (busy !== undefined) {
      scheduled = true
      void busy.then(flushWhenIdle)
      return
    }
    flushNow()
  }

  const flushNow = (): void => {
    while (queue.length > 0) {
      const batch = queue.length <= batchLimit ? queue : queue.slice(0, batchLimit)
      queue = queue.length <= batchLimit ? [] : queue.slice(batchLimit)
      runBatch(batch)
    }
    const done = waiters
    waiters = []
    for (const wake of done) wake()
  }

  // After the microtasks now queued have run: every run that continues in this turn joins.
  const schedule = (): void => {
    if (scheduled) return
    scheduled = true
    process.nextTick(flushWhenIdle)
  }

  const enqueue = <T>(body: () => T, read: boolean): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ body, read, resolve: resolve as (value: unknown) => void, reject })
      schedule()
    })

  return {
    run: (body) => enqueue(body, false),
    read: (body) => {
      if (queue.length > 0) return enqueue(body, true)
      const busy = idle()
      if (busy === undefined) return Promise.resolve(body())
      return busy.then(() => (queue.length > 0 ? enqueue(body, true) : body()))
    },
    flush: () => {
      if (queue.length > 0 && idle() === undefined) flushNow()
    },
    flushNow,
    settled: () =>
      queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
  }
}
