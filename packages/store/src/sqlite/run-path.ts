import {
  type AppendOptions,
  type CreatedRun,
  type JournalEntryInput,
  type Lease,
  type Message,
  type NewRun,
  type Page,
  type RunFilter,
  type RunPatch,
  type RunRecord,
  type SessionRecord,
  type SessionTurn,
  type Snapshot,
  StoreError,
} from '@vel/core'
import type { Selectable } from 'kysely'
import { encodeCompact } from '../codec.ts'
import { leasedElsewhere, newRunRecord, patchColumns } from '../run-record.ts'
import { type JournalRow, journalRows, toSnapshot } from '../sql/journal.ts'
import { toLease } from '../sql/leases.ts'
import { listArguments, runColumnList, runColumns, runPage, runRow, toRunRecord } from '../sql/runs.ts'
import type { RunsTable, SnapshotsTable } from '../sql/schema.ts'
import { toSessionRecord } from '../sql/sessions.ts'
import { checkId, checkLease, checkPositive, checkSeq, sessionTexts, turnTexts } from '../validate.ts'
import type { SqliteConnection, SqliteStatement } from './driver.ts'
import type { SqliteHotPath } from './hot-path.ts'

/**
 * A run's bookkeeping on SQLite as prepared statements, run synchronously on the store's
 * connection: create (with its lease), get, update, the lease operations and the session a run
 * reads and writes (ADR 0120), without building and compiling a query per call: that was most of a
 * run's CPU outside its journal appends. Listing runs and reading a snapshot too, so a process that
 * resumes runs never loads Kysely (ADR 0126). Deleting and the idempotency lookup stay on Kysely
 * (`../sql/runs.ts`); a new run's first entries go through the journal's statements. Writes of
 * more than one statement are one `BEGIN IMMEDIATE` transaction, so they are atomic across
 * processes as well.
 */
export interface SqliteRunPath {
  createRun(run: NewRun): CreatedRun
  getRun(runId: string): RunRecord | undefined
  updateRun(runId: string, patch: RunPatch): RunRecord
  acquireLease(runId: string, ownerId: string, ttlMs: number): Lease | undefined
  renewLease(lease: Lease, ttlMs: number): Lease | undefined
  releaseLease(lease: Lease): void
  getLease(runId: string): Lease | undefined
  getSnapshot(runId: string): Snapshot | undefined
  /** As `Store.listRuns`: the same checks, order and cursor as the Kysely query of `../sql/runs.ts`. */
  listRuns(filter: RunFilter, page: { readonly cursor?: string; readonly limit?: number }): Page<RunRecord>
  getSession(sessionId: string): SessionRecord | undefined
  appendSession(
    sessionId: string,
    messages: ReadonlyArray<Message>,
    expectedVersion: number | undefined,
    runId: string | undefined,
  ): number
  replaceSession(sessionId: string, messages: ReadonlyArray<Message>, expectedVersion: number): number
  /** `Store.append` with `session` (`options.session`): the journal's append and the turn, one transaction. */
  appendWithTurn(
    runId: string,
    entries: ReadonlyArray<JournalEntryInput>,
    expectedSeq: number,
    options: AppendOptions,
    session: SessionTurn,
  ): number
}

type LeaseRow = { owner_id: string | null; epoch: number; expires_at: number }

/**
 * Prepares each statement on first use: the tables exist only after `migrate()`, and a version 1
 * database (no `session_turns` yet) still takes everything but a run's session turn.
 */
export function createSqliteRunPath(
  connection: SqliteConnection,
  now: () => number,
  journal: Pick<SqliteHotPath, 'insertFirst' | 'append'>,
): SqliteRunPath {
  const prepared: Partial<Record<keyof typeof sql, SqliteStatement>> = {}
  const statement = (name: keyof typeof sql): SqliteStatement => {
    let found = prepared[name]
    if (found === undefined) {
      found = connection.prepare(sql[name])
      prepared[name] = found
    }
    return found
  }
  // A listing's SQL depends on which filters it has (and how many statuses): one statement per
  // shape, a few in practice; bounded, oldest out.
  const listings = new Map<string, SqliteStatement>()
  const listing = (text: string): SqliteStatement => {
    let found = listings.get(text)
    if (found === undefined) {
      found = connection.prepare(text)
      if (listings.size >= 64) listings.delete(listings.keys().next().value as string)
      listings.set(text, found)
    }
    return found
  }
  const takeLease = (runId: string, ownerId: string, ttlMs: number, time: number): Lease | undefined => {
    const row = statement('takeLease').get(runId, ownerId, time + ttlMs, time) as LeaseRow | undefined
    return row === undefined ? undefined : toLease(runId, row)
  }

  const createTransaction = (
    row: ReturnType<typeof runRow>,
    claimSession: boolean,
    sessionVersion: number | null,
    wanted: NewRun['lease'],
    entries: ReadonlyArray<JournalRow> | undefined,
    time: number,
  ): Lease | undefined => {
    const values = runColumns.map((column) => row[column])
    // A duplicate id or idempotency key fails the insert (SQLITE_CONSTRAINT_*: `conflict`).
    if (claimSession) {
      // Under the write lock: the row goes in only if its session has no unfinished run.
      const free = statement('insertRunIfSessionFree').run(
        ...values,
        row.session_id,
        sessionVersion,
        row.session_id,
        sessionVersion,
      )
      if (free.changes !== 1)
        throw new StoreError(
          'busy',
          `session ${row.session_id} has an unfinished run${sessionVersion === null ? '' : ` or is not at version ${sessionVersion}`}`,
        )
    } else statement('insertRun').run(...values)
    // Thrown inside the transaction, like every refusal here: the row rolls back with it.
    if (entries !== undefined) journal.insertFirst(row.run_id, entries)
    if (wanted === undefined) return undefined
    // Thrown inside the transaction: the row rolls back with it.
    const lease = takeLease(row.run_id, wanted.ownerId, wanted.ttlMs, time)
    if (lease === undefined) throw leasedElsewhere(row.run_id)
    return lease
  }
  let createImmediate: ((...args: Parameters<typeof createTransaction>) => Lease | undefined) | undefined

  const writeTransaction = (
    sessionId: string,
    texts: ReadonlyArray<string>,
    expectedVersion: number | undefined,
    replace: boolean,
    runId: string | undefined,
    time: number,
  ): number => {
    // The head row first (a write, so the lock is ours from the start), then the turn's key: a
    // run's turn lands at most once.
    statement('ensureSession').run(sessionId, time)
    if (runId !== undefined && statement('insertTurn').run(sessionId, runId).changes === 0)
      return (statement('sessionVersion').get(sessionId) as { version: number }).version
    const head = statement('bumpSession').get(
      texts.length,
      replace ? 1 : 0,
      time,
      sessionId,
      expectedVersion ?? null,
      expectedVersion ?? null,
    ) as { version: number; message_count: number } | undefined
    if (head === undefined)
      throw new StoreError('conflict', `session ${sessionId} is not at version ${expectedVersion}`)
    if (replace) statement('clearMessages').run(sessionId)
    const first = head.message_count - texts.length
    for (const [index, text] of texts.entries())
      statement('insertMessage').run(sessionId, first + index, text)
    return head.version
  }
  let writeImmediate: ((...args: Parameters<typeof writeTransaction>) => number) | undefined

  // The journal's own transaction nests in this one (a savepoint), and the turn is written after
  // the entries in the same transaction: a refused append throws before the turn, and anything
  // that throws after the entries rolls them back with it.
  const appendTurnTransaction = (
    runId: string,
    entries: ReadonlyArray<JournalEntryInput>,
    expectedSeq: number,
    options: AppendOptions,
    sessionId: string,
    texts: ReadonlyArray<string>,
  ): number => {
    // The hot path writes the entries, the snapshot and the row; the turn is this transaction's.
    const seq = journal.append(runId, entries, expectedSeq, options)
    writeTransaction(sessionId, texts, undefined, false, runId, now())
    return seq
  }
  let appendTurnImmediate: ((...args: Parameters<typeof appendTurnTransaction>) => number) | undefined
  const write = (
    sessionId: string,
    messages: ReadonlyArray<Message>,
    expectedVersion: number | undefined,
    replace: boolean,
    runId: string | undefined,
  ): number => {
    const texts = sessionTexts(sessionId, messages, expectedVersion, runId, encodeCompact)
    writeImmediate ??= connection.transaction(writeTransaction).immediate
    return writeImmediate(sessionId, texts, expectedVersion, replace, runId, now())
  }

  return {
    createRun(run) {
      const record = newRunRecord(run, now())
      const wanted = run.lease
      if (wanted !== undefined) checkLease(record.runId, wanted.ownerId, wanted.ttlMs)
      const claimSession = run.claimSession === true && record.sessionId !== null
      const time = record.createdAt
      // Encoded (and checked) before the transaction: a bad entry writes nothing.
      const entries =
        run.entries === undefined
          ? undefined
          : journalRows(record.runId, run.entries, 0, time, encodeCompact, true)
      createImmediate ??= connection.transaction(createTransaction).immediate
      const version = run.sessionVersion ?? null
      const lease = createImmediate(runRow(record), claimSession, version, wanted, entries, time)
      if (lease === undefined && entries === undefined) return record
      return {
        ...record,
        ...(lease === undefined ? {} : { lease }),
        ...(entries === undefined ? {} : { seq: entries.length }),
      }
    },
    getRun(runId) {
      const row = statement('getRun').get(checkId('runId', runId)) as Selectable<RunsTable> | undefined
      return row === undefined ? undefined : toRunRecord(row)
    },
    updateRun(runId, patch) {
      checkId('runId', runId)
      const { status, pending, answer, error, metadata } = patchColumns(patch)
      const row = statement('updateRun').get(status, pending, answer, error, metadata, now(), runId) as
        | Selectable<RunsTable>
        | undefined
      if (row === undefined) throw new StoreError('not-found', `run ${runId} not found`)
      return toRunRecord(row)
    },
    acquireLease(runId, ownerId, ttlMs) {
      checkLease(runId, ownerId, ttlMs)
      return takeLease(runId, ownerId, ttlMs, now())
    },
    renewLease(lease, ttlMs) {
      checkPositive('ttlMs', ttlMs)
      const runId = checkId('runId', lease.runId)
      const row = statement('renewLease').get(now() + ttlMs, runId, lease.ownerId, lease.epoch) as
        | LeaseRow
        | undefined
      return row === undefined ? undefined : toLease(runId, row)
    },
    releaseLease(lease) {
      // The row stays with its epoch, so the next owner's epoch is higher than any before.
      statement('releaseLease').run(checkId('runId', lease.runId), lease.ownerId, lease.epoch)
    },
    getLease(runId) {
      const row = statement('getLease').get(checkId('runId', runId), now()) as LeaseRow | undefined
      return row === undefined ? undefined : toLease(runId, row)
    },
    getSnapshot(runId) {
      const row = statement('getSnapshot').get(checkId('runId', runId)) as
        | Selectable<SnapshotsTable>
        | undefined
      return row === undefined ? undefined : toSnapshot(row)
    },
    listRuns(filter, page) {
      const listed = listArguments(filter, page)
      if (listed === undefined) return { items: [] }
      const { statuses, limit, cursor } = listed
      const where: string[] = []
      const values: unknown[] = []
      if (statuses !== undefined) {
        where.push(`status in (${statuses.map(() => '?').join(', ')})`)
        values.push(...statuses)
      }
      for (const [column, value] of [
        ['agent_id', filter.agentId],
        ['session_id', filter.sessionId],
        ['parent_run_id', filter.parentRunId],
      ] as const)
        if (value !== undefined) {
          where.push(`${column} = ?`)
          values.push(value)
        }
      if (cursor !== undefined) {
        where.push('(created_at < ? or (created_at = ? and run_id < ?))')
        values.push(cursor.createdAt, cursor.createdAt, cursor.runId)
      }
      const text = `select ${runColumnList} from runs${where.length === 0 ? '' : ` where ${where.join(' and ')}`}
        order by created_at desc, run_id desc limit ?`
      // One extra row tells whether another page follows.
      return runPage(listing(text).all(...values, limit + 1) as Selectable<RunsTable>[], limit)
    },
    getSession(sessionId) {
      checkId('sessionId', sessionId)
      const head = statement('getSession').get(sessionId) as
        | { version: number; updated_at: number }
        | undefined
      if (head === undefined) return undefined
      const rows = statement('sessionMessages').all(sessionId) as { position: number; message: string }[]
      return toSessionRecord(sessionId, head, rows)
    },
    appendSession: (sessionId, messages, expectedVersion, runId) =>
      write(sessionId, messages, expectedVersion, false, runId),
    replaceSession: (sessionId, messages, expectedVersion) =>
      write(sessionId, messages, checkSeq('expectedVersion', expectedVersion), true, undefined),
    appendWithTurn(runId, entries, expectedSeq, options, session) {
      checkId('runId', runId)
      const texts = turnTexts(session, runId, encodeCompact)
      appendTurnImmediate ??= connection.transaction(appendTurnTransaction).immediate
      return appendTurnImmediate(runId, entries, expectedSeq, options, session.sessionId, texts)
    },
  }
}

// Kept apart so the SQL is easy to compare with Postgres' (../postgres/).
const sql = {
  insertRun: `insert into runs (${runColumnList}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertRunIfSessionFree: `insert into runs (${runColumnList}) select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
     where not exists (select 1 from runs where session_id = ? and status in ('running', 'waiting'))
       and (? is null or coalesce((select version from sessions where session_id = ?), 0) = ?)`,
  getRun: `select ${runColumnList} from runs where run_id = ?`,
  updateRun: `update runs set status = coalesce(?, status), pending = coalesce(?, pending),
       answer = coalesce(?, answer), error = coalesce(?, error), metadata = coalesce(?, metadata),
       updated_at = ?
     where run_id = ? returning ${runColumnList}`,
  // Take a free, released or expired lease (next epoch), renew our own (same epoch), or leave
  // another owner's live lease alone (no row).
  takeLease: `insert into leases (run_id, owner_id, epoch, expires_at) values (?, ?, 1, ?)
     on conflict (run_id) do update set
       epoch = case when leases.owner_id = excluded.owner_id then leases.epoch else leases.epoch + 1 end,
       owner_id = excluded.owner_id, expires_at = excluded.expires_at
     where leases.owner_id is null or leases.owner_id = excluded.owner_id or leases.expires_at <= ?
     returning owner_id, epoch, expires_at`,
  renewLease: `update leases set expires_at = ? where run_id = ? and owner_id = ? and epoch = ?
     returning owner_id, epoch, expires_at`,
  releaseLease:
    'update leases set owner_id = null, expires_at = 0 where run_id = ? and owner_id = ? and epoch = ?',
  getLease: `select owner_id, epoch, expires_at from leases
     where run_id = ? and owner_id is not null and expires_at > ?`,
  getSnapshot: 'select run_id, seq, schema_version, at, state from snapshots where run_id = ?',
  getSession: 'select version, updated_at from sessions where session_id = ?',
  sessionMessages: 'select position, message from session_messages where session_id = ? order by position',
  ensureSession: `insert into sessions (session_id, version, message_count, updated_at) values (?, 0, 0, ?)
     on conflict (session_id) do nothing`,
  insertTurn:
    'insert into session_turns (session_id, run_id) values (?, ?) on conflict (session_id, run_id) do nothing',
  sessionVersion: 'select version from sessions where session_id = ?',
  // Append adds the new messages to the count; replace (second parameter 1) sets it.
  bumpSession: `update sessions set version = version + 1,
       message_count = ? + case when ? = 1 then 0 else message_count end, updated_at = ?
     where session_id = ? and (? is null or version = ?)
     returning version, message_count`,
  clearMessages: 'delete from session_messages where session_id = ?',
  insertMessage: 'insert into session_messages (session_id, position, message) values (?, ?, ?)',
}
