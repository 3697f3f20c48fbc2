import {
  type AppendOptions,
  type JournalEntry,
  type JournalEntryInput,
  type JsonValue,
  type Lease,
  StoreError,
} from '@vel/core'
import type { Selectable } from 'kysely'
import { encodeCompact, encodeJson } from '../codec.ts'
import { type PatchColumns, patchColumns } from '../run-record.ts'
import type { JournalRow } from '../sql/journal.ts'
import { conflictError, fencedError, journalRows, toJournalEntry } from '../sql/journal.ts'
import type { JournalTable } from '../sql/schema.ts'
import { checkId, checkPositive, checkSeq } from '../validate.ts'
import type { SqliteConnection } from './driver.ts'

/** The journal operations SQLite runs as prepared statements, synchronously, on the store's connection. */
export interface SqliteHotPath {
  append(
    runId: string,
    entries: ReadonlyArray<JournalEntryInput>,
    expectedSeq: number,
    options: AppendOptions | undefined,
  ): number
  read(runId: string, afterSeq: number, limit: number | undefined): JournalEntry[]
  lastSeq(runId: string): number
  putSnapshot(runId: string, seq: number, state: JsonValue, schemaVersion: number): void
  /**
   * A new run's first entries (`journalRows` from seq 1), inside the caller's transaction:
   * `conflict` if the run's journal is not empty.
   */
  insertFirst(runId: string, rows: ReadonlyArray<JournalRow>): void
}

/**
 * Prepares the hot path lazily (the tables exist only after `migrate()`). Each write is one
 * `BEGIN IMMEDIATE` transaction, so check-and-insert is atomic even across processes.
 */
export function createSqliteHotPath(connection: SqliteConnection, now: () => number): SqliteHotPath {
  let prepared: ReturnType<typeof prepare> | undefined
  const statements = () => {
    prepared ??= prepare(connection)
    return prepared
  }

  const appendTransaction = (
    rows: JournalRow[],
    runId: string,
    expectedSeq: number,
    lease: Pick<Lease, 'ownerId' | 'epoch'> | undefined,
  ): number => {
    const { lastSeq, leaseOf, insert } = statements()
    if (lease !== undefined) {
      const current = leaseOf.get(runId) as { owner_id: string | null; epoch: number } | undefined
      if (current?.owner_id !== lease.ownerId || current.epoch !== lease.epoch)
        throw fencedError(runId, lease)
    }
    const last = lastSeq.get(runId) as number
    if (last !== expectedSeq) throw conflictError(runId, last, expectedSeq)
    for (const row of rows) insert.run(row.run_id, row.seq, row.type, row.at, row.data)
    return last + rows.length
  }
  // With a snapshot the append and the snapshot upsert are one transaction.
  const appendSnapshotTransaction = (
    rows: JournalRow[],
    runId: string,
    expectedSeq: number,
    lease: Pick<Lease, 'ownerId' | 'epoch'> | undefined,
    snapshot: { readonly text: string; readonly schemaVersion: number },
    time: number,
  ): number => {
    const seq = appendTransaction(rows, runId, expectedSeq, lease)
    statements().upsertSnapshot.run(runId, seq, snapshot.schemaVersion, time, snapshot.text)
    return seq
  }
  // With a run patch: the append, the snapshot if any and the index row, one transaction.
  const appendPatchTransaction = (
    rows: JournalRow[],
    runId: string,
    expectedSeq: number,
    lease: Pick<Lease, 'ownerId' | 'epoch'> | undefined,
    snapshot: { readonly text: string; readonly schemaVersion: number } | undefined,
    patch: PatchColumns,
    time: number,
  ): number => {
    const seq = appendTransaction(rows, runId, expectedSeq, lease)
    const { patchRun, upsertSnapshot } = statements()
    const { status, pending, answer, error, metadata } = patch
    // Thrown inside the transaction, so the entries roll back with it.
    if (patchRun.run(status, pending, answer, error, metadata, time, runId).changes !== 1)
      throw new StoreError('not-found', `run ${runId} not found`)
    if (snapshot !== undefined) upsertSnapshot.run(runId, seq, snapshot.schemaVersion, time, snapshot.text)
    return seq
  }
  const snapshotTransaction = (runId: string, seq: number, text: string, schemaVersion: number): void => {
    const { lastSeq, upsertSnapshot } = statements()
    if (seq > (lastSeq.get(runId) as number))
      throw new StoreError('invalid-argument', `run ${runId}: snapshot seq ${seq} is past the journal`)
    upsertSnapshot.run(runId, seq, schemaVersion, now(), text)
  }
  let appendImmediate: ((...args: Parameters<typeof appendTransaction>) => number) | undefined
  let appendSnapshotImmediate: ((...args: Parameters<typeof appendSnapshotTransaction>) => number) | undefined
  let appendPatchImmediate: ((...args: Parameters<typeof appendPatchTransaction>) => number) | undefined
  let snapshotImmediate: ((...args: Parameters<typeof snapshotTransaction>) => void) | undefined

  // One entry (the common step) is one conditional insert: a single statement takes the write lock
  // before it reads, so check-and-insert is atomic without BEGIN/COMMIT round trips.
  const appendOne = (
    row: JournalRow,
    expectedSeq: number,
    lease: Pick<Lease, 'ownerId' | 'epoch'> | undefined,
  ): number => {
    const { insertIfHead, insertIfHeadAndLease } = statements()
    const { run_id: runId, seq, type, at, data } = row
    const result =
      lease === undefined
        ? insertIfHead.run(runId, seq, type, at, data, runId, expectedSeq)
        : insertIfHeadAndLease.run(
            runId,
            seq,
            type,
            at,
            data,
            runId,
            expectedSeq,
            runId,
            lease.ownerId,
            lease.epoch,
          )
    if (result.changes === 1) return seq
    // Nothing written: say why (a lease that is not current wins over a moved journal).
    if (lease !== undefined) {
      const current = statements().leaseOf.get(runId) as
        | { owner_id: string | null; epoch: number }
        | undefined
      if (current?.owner_id !== lease.ownerId || current.epoch !== lease.epoch)
        throw fencedError(runId, lease)
    }
    throw conflictError(runId, statements().lastSeq.get(runId) as number, expectedSeq)
  }

  return {
    append(runId, entries, expectedSeq, options) {
      const time = now()
      const rows = journalRows(runId, entries, expectedSeq, time, encodeCompact, true)
      const lease = options?.lease
      const snapshot =
        options?.snapshot === undefined
          ? undefined
          : {
              text: encodeJson(options.snapshot.state, 'snapshot state'),
              schemaVersion: checkSeq('snapshot.schemaVersion', options.snapshot.schemaVersion),
            }
      if (options?.run !== undefined) {
        const patch = patchColumns(options.run)
        appendPatchImmediate ??= connection.transaction(appendPatchTransaction).immediate
        return appendPatchImmediate(rows, runId, expectedSeq, lease, snapshot, patch, time)
      }
      if (snapshot !== undefined) {
        appendSnapshotImmediate ??= connection.transaction(appendSnapshotTransaction).immediate
        return appendSnapshotImmediate(rows, runId, expectedSeq, lease, snapshot, time)
      }
      if (rows.length === 1) return appendOne(rows[0]!, expectedSeq, lease)
      appendImmediate ??= connection.transaction(appendTransaction).immediate
      return appendImmediate(rows, runId, expectedSeq, lease)
    },
    read(runId, afterSeq, limit) {
      checkId('runId', runId)
      checkSeq('afterSeq', afterSeq)
      // LIMIT -1 is SQLite for "no limit".
      const rows = statements().read.all(
        runId,
        afterSeq,
        limit === undefined ? -1 : checkPositive('limit', limit),
      )
      return (rows as Selectable<JournalTable>[]).map(toJournalEntry)
    },
    lastSeq: (runId) => statements().lastSeq.get(checkId('runId', runId)) as number,
    insertFirst(runId, rows) {
      const { lastSeq, insert } = statements()
      if ((lastSeq.get(runId) as number) !== 0)
        throw new StoreError('conflict', `run ${runId}: journal is not empty`)
      for (const row of rows) insert.run(row.run_id, row.seq, row.type, row.at, row.data)
    },
    putSnapshot(runId, seq, state, schemaVersion) {
      checkId('runId', runId)
      checkSeq('seq', seq)
      checkSeq('schemaVersion', schemaVersion)
      const text = encodeJson(state, 'snapshot state')
      snapshotImmediate ??= connection.transaction(snapshotTransaction).immediate
      snapshotImmediate(runId, seq, text, schemaVersion)
    },
  }
}

// Kept apart so the SQL is easy to compare with the Kysely versions in ../sql/journal.ts.
const prepare = (connection: SqliteConnection) => ({
  lastSeq: connection.prepare('select coalesce(max(seq), 0) from journal where run_id = ?').pluck(),
  leaseOf: connection.prepare('select owner_id, epoch from leases where run_id = ?'),
  insert: connection.prepare('insert into journal (run_id, seq, type, at, data) values (?, ?, ?, ?, ?)'),
  insertIfHead: connection.prepare(
    `insert into journal (run_id, seq, type, at, data) select ?, ?, ?, ?, ?
     where (select coalesce(max(seq), 0) from journal where run_id = ?) = ?`,
  ),
  insertIfHeadAndLease: connection.prepare(
    `insert into journal (run_id, seq, type, at, data) select ?, ?, ?, ?, ?
     where (select coalesce(max(seq), 0) from journal where run_id = ?) = ?
       and exists (select 1 from leases where run_id = ? and owner_id = ? and epoch = ?)`,
  ),
  patchRun: connection.prepare(
    `update runs set status = coalesce(?, status), pending = coalesce(?, pending),
       answer = coalesce(?, answer), error = coalesce(?, error), metadata = coalesce(?, metadata),
       updated_at = ?
     where run_id = ?`,
  ),
  read: connection.prepare(
    'select run_id, seq, type, at, data from journal where run_id = ? and seq > ? order by seq limit ?',
  ),
  upsertSnapshot: connection.prepare(
    `insert into snapshots (run_id, seq, schema_version, at, state) values (?, ?, ?, ?, ?)
     on conflict (run_id) do update set seq = excluded.seq, schema_version = excluded.schema_version,
       at = excluded.at, state = excluded.state
     where excluded.seq >= snapshots.seq`,
  ),
})
