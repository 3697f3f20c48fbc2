import {
  type CreatedRun,
  type NewRun,
  type Page,
  type RunFilter,
  type RunRecord,
  type RunStatus,
  type Store,
  StoreError,
} from '@vel/core'
import type { Kysely, Selectable } from 'kysely'
import { decodeJson, encodeJson, toNumber } from '../codec.ts'
import { decodeCursor, encodeCursor, type RunCursor } from '../cursor.ts'
import { decodeRun } from '../decode-run.ts'
import { newRunRecord } from '../run-record.ts'
import { checkId, filterStatuses, pageSize } from '../validate.ts'
import type { SqlContext } from './context.ts'
import type { Database, RunsTable } from './schema.ts'

/** A runs row as a record (SQLite's prepared run path reads the same rows). */
export const toRunRecord = (row: Selectable<RunsTable>): RunRecord => {
  const where = `run ${row.run_id}`
  return decodeRun(
    {
      runId: row.run_id,
      agentId: row.agent_id,
      sessionId: row.session_id,
      parentRunId: row.parent_run_id,
      idempotencyKey: row.idempotency_key,
      createdAt: toNumber(row.created_at),
      updatedAt: toNumber(row.updated_at),
    },
    {
      status: row.status,
      pending: () => decodeJson(row.pending, `${where} pending`),
      answer: () => decodeJson(row.answer, `${where} answer`),
      error: () => decodeJson(row.error, `${where} error`),
      metadata: () => decodeJson(row.metadata, `${where} metadata`),
    },
  )
}

/** The runs table's columns, in the order every statement that writes or reads a whole row uses. */
export const runColumns = [
  'run_id',
  'agent_id',
  'session_id',
  'parent_run_id',
  'idempotency_key',
  'status',
  'pending',
  'answer',
  'error',
  'metadata',
  'created_at',
  'updated_at',
] as const

/** `runColumns` as an SQL column list. */
export const runColumnList = runColumns.join(', ')

/** Column types for the typed parameters of an `insert ... select` (Postgres cannot infer them). */
const columnTypes: Record<(typeof runColumns)[number], 'text' | 'bigint'> = {
  run_id: 'text',
  agent_id: 'text',
  session_id: 'text',
  parent_run_id: 'text',
  idempotency_key: 'text',
  status: 'text',
  pending: 'text',
  answer: 'text',
  error: 'text',
  metadata: 'text',
  created_at: 'bigint',
  updated_at: 'bigint',
}

/** The run's row as stored. */
export const runRow = (record: RunRecord) => ({
  run_id: record.runId,
  agent_id: record.agentId,
  session_id: record.sessionId,
  parent_run_id: record.parentRunId,
  idempotency_key: record.idempotencyKey,
  status: record.status,
  pending: '[]',
  answer: 'null',
  error: 'null',
  metadata: encodeJson(record.metadata, 'metadata'),
  created_at: record.createdAt,
  updated_at: record.updatedAt,
})

/**
 * Inserts the run's row: `conflict` for a duplicate id or idempotency key (the primary key and the
 * unique (agent_id, idempotency_key) index), `busy` when it claims a session another unfinished run
 * holds.
 */
const insertRun = async (
  db: Kysely<Database>,
  run: NewRun,
  record: RunRecord,
  dialect: SqlContext['dialect'],
): Promise<void> => {
  const row = runRow(record)
  const sessionId = record.sessionId
  if (run.claimSession !== true || sessionId === null) {
    await db.insertInto('runs').values(row).execute()
    return
  }
  const unfinished = (except?: string) => {
    let query = db
      .selectFrom('runs')
      .select('run_id')
      .where('session_id', '=', sessionId)
      .where('status', 'in', ['running', 'waiting'])
    if (except !== undefined) query = query.where('run_id', '<>', except)
    return query
  }
  // One statement: the row goes in only if the session has no unfinished run (SQLite runs it
  // under its write lock, so it is atomic there).
  const inserted = await db
    .insertInto('runs')
    .columns(runColumns)
    .expression(
      db
        .selectNoFrom((eb) =>
          runColumns.map((column) => eb.cast(eb.val(row[column]), columnTypes[column]).as(column)),
        )
        .where(({ not, exists }) => not(exists(unfinished())))
        .where((eb) =>
          run.sessionVersion === undefined
            ? eb.lit(true)
            : eb(
                eb.fn.coalesce(
                  eb.selectFrom('sessions').select('version').where('session_id', '=', sessionId),
                  eb.lit(0),
                ),
                '=',
                run.sessionVersion,
              ),
        ),
    )
    .executeTakeFirst()
  const busy = () => new StoreError('busy', `session ${sessionId} has an unfinished run`)
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw busy()
  // Postgres (read committed) may run two such statements at once, each blind to the other's
  // row: look again once this row is committed and back off if another is there. Both may back
  // off; both never go on.
  if (dialect === 'postgres' && (await unfinished(record.runId).executeTakeFirst()) !== undefined) {
    await db.deleteFrom('runs').where('run_id', '=', record.runId).execute()
    throw busy()
  }
}

/**
 * `listRuns`' arguments checked (statuses, page size, then cursor), or `undefined` when no run can
 * match (an empty status list).
 */
export const listArguments = (
  filter: RunFilter,
  page: { readonly cursor?: string; readonly limit?: number },
):
  | { statuses: ReadonlyArray<RunStatus> | undefined; limit: number; cursor: RunCursor | undefined }
  | undefined => {
  const statuses = filterStatuses(filter)
  const limit = pageSize(page.limit)
  const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
  return statuses !== undefined && statuses.length === 0 ? undefined : { statuses, limit, cursor }
}

/** A page of `limit` runs from `limit + 1` rows, newest first: the extra row means a next page. */
export const runPage = (rows: ReadonlyArray<Selectable<RunsTable>>, limit: number): Page<RunRecord> => {
  const items = rows.slice(0, limit).map(toRunRecord)
  const last = items[items.length - 1]
  return rows.length > limit && last !== undefined ? { items, nextCursor: encodeCursor(last) } : { items }
}

/**
 * The runs index through Kysely, shared by SQLite and Postgres: creating a run without a lease,
 * the idempotency lookup, listing (Postgres; SQLite lists with a statement of its own, ADR 0126)
 * and deleting. Each dialect runs the rest as prepared statements (`getRun`, `updateRun`, and
 * `createRun` with a lease in one write: ADRs 0118, 0120, 0121).
 */
export const createSqlRuns = (
  context: SqlContext,
): Pick<Store, 'createRun' | 'findRunByIdempotencyKey' | 'listRuns' | 'deleteRun'> => {
  // `context.db` is read per call: the SQLite store makes its Kysely on first need (ADR 0126).
  return {
    async createRun(run: NewRun): Promise<CreatedRun> {
      const record = newRunRecord(run, context.now())
      if (run.lease !== undefined)
        throw new StoreError('invalid-argument', 'a leased run is created by the dialect (its createRun)')
      await insertRun(context.db, run, record, context.dialect)
      return record
    },

    async findRunByIdempotencyKey(agentId: string, idempotencyKey: string): Promise<RunRecord | undefined> {
      const row = await context.db
        .selectFrom('runs')
        .selectAll()
        .where('agent_id', '=', checkId('agentId', agentId))
        .where('idempotency_key', '=', checkId('idempotencyKey', idempotencyKey))
        .executeTakeFirst()
      return row === undefined ? undefined : toRunRecord(row)
    },

    async listRuns(
      filter: RunFilter = {},
      page: { readonly cursor?: string; readonly limit?: number } = {},
    ): Promise<Page<RunRecord>> {
      const listing = listArguments(filter, page)
      if (listing === undefined) return { items: [] }
      const { statuses, limit, cursor } = listing
      let query = context.db.selectFrom('runs').selectAll()
      if (statuses !== undefined) query = query.where('status', 'in', statuses)
      if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId)
      if (filter.sessionId !== undefined) query = query.where('session_id', '=', filter.sessionId)
      if (filter.parentRunId !== undefined) query = query.where('parent_run_id', '=', filter.parentRunId)
      if (cursor !== undefined)
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '<', cursor.createdAt),
            eb.and([eb('created_at', '=', cursor.createdAt), eb('run_id', '<', cursor.runId)]),
          ]),
        )
      // One extra row tells whether another page follows.
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('run_id', 'desc')
        .limit(limit + 1)
        .execute()
      return runPage(rows, limit)
    },

    async deleteRun(runId: string): Promise<void> {
      checkId('runId', runId)
      await context.transaction(async (trx) => {
        for (const table of ['journal', 'snapshots', 'leases', 'runs'] as const)
          await trx.deleteFrom(table).where('run_id', '=', runId).execute()
      })
    },
  }
}
