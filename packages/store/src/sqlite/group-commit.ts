import type { SqliteConnection } from './driver.ts'

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
  let statements: { begin: { run(): unknown }; commit: { run(): unknown }; rollback: { run(): unknown } }
  const prepared = () => {
    statements ??= {
      begin: connection.prepare('begin immediate'),
      commit: connection.prepare('commit'),
      rollback: connection.prepare('rollback'),
    }
    return statements
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
    const { begin, commit, rollback } = prepared()
    try {
      begin.run()
    } catch (error) {
      for (const queued of batch) queued.reject(error)
      return
    }
    const results: Array<{ ok: boolean; value: unknown }> = []
    for (const [index, queued] of batch.entries()) {
      try {
        results.push({ ok: true, value: queued.body() })
      } catch (error) {
        results.push({ ok: false, value: error })
        if (!connection.inTransaction) {
          // SQLite rolled the whole transaction back (a full disk, an I/O error): every write of
          // the batch so far is gone. Those operations fail with the error; the rest run again.
          for (const [earlier, result] of results.entries())
            if (result.ok) results[earlier] = { ok: false, value: error }
          settle(batch.slice(0, index + 1), results)
          queue = [...batch.slice(index + 1), ...queue]
          schedule()
          return
        }
      }
    }
    try {
      commit.run()
    } catch (error) {
      if (connection.inTransaction) rollback.run()
      for (const queued of batch) queued.reject(error)
      return
    }
    settle(batch, results)
  }

  const settle = (batch: Queued[], results: Array<{ ok: boolean; value: unknown }>): void => {
    for (const [index, queued] of batch.entries()) {
      const result = results[index] as { ok: boolean; value: unknown }
      if (result.ok) queued.resolve(result.value)
      else queued.reject(result.value)
    }
  }

  const flush = (): void => {
    scheduled = false
    const busy = idle()
    if (busy !== undefined) {
      scheduled = true
      void busy.then(flush)
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
    process.nextTick(flush)
  }

  const enqueue = <T>(body: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ body, resolve: resolve as (value: unknown) => void, reject })
      schedule()
    })

  return {
    run: enqueue,
    read: (body) => {
      if (queue.length > 0) return enqueue(body)
      const busy = idle()
      if (busy === undefined) return Promise.resolve(body())
      return busy.then(() => (queue.length > 0 ? enqueue(body) : body()))
    },
    flush: () => {
      if (queue.length > 0 && idle() === undefined) flushNow()
    },
    flushNow,
    settled: () =>
      queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
  }
}
