import {
  type JournalEntry,
  type JournalEntryInput,
  type JsonValue,
  type Lease,
  type Snapshot,
  StoreError,
} from '@vel/core'
import type { Insertable, Kysely as KyselyType, Selectable } from 'kysely'
import { decodeJson, encodeJson, toNumber } from '../codec.ts'
import { checkEntries, checkId, checkPositive, checkSeq } from '../validate.ts'
import type { SqlContext } from './context.ts'
import type { Database, JournalTable } from './schema.ts'

/** A journal row as inserted. */
export type JournalRow = Insertable<JournalTable> & { at: number }

/** The data's own `type`, when it is an object with one. */
const typeOfData = (data: unknown): unknown =>
  typeof data === 'object' && data !== null ? (data as { type?: unknown }).type : undefined

/**
 * Journal rows ready to insert after `expectedSeq`; everything is serialized before any write, as
 * JSON or (SQLite) as compact text, which `toJournalEntry` reads alike. With `elideType` (SQLite)
 * an entry whose data carries the same `type` is stored with an empty type (entry types are never
 * empty), which `toJournalEntry` reads back from the data: the event's name is stored once.
 */
export const journalRows = (
  runId: string,
  entries: ReadonlyArray<JournalEntryInput>,
  expectedSeq: number,
  time: number,
  encode: (value: unknown, what: string) => string = encodeJson,
  elideType = false,
): JournalRow[] => {
  checkId('runId', runId)
  checkSeq('expectedSeq', expectedSeq)
  checkEntries(entries)
  return entries.map((entry, index) => ({
    run_id: runId,
    seq: expectedSeq + index + 1,
    type: elideType && typeOfData(entry.data) === entry.type ? '' : entry.type,
    at: entry.at ?? time,
    data: encode(entry.data, `entry ${index}`),
  }))
}

/**
 * A journal row as an entry; unparsable data is `corrupted`, naming run and seq. An empty type
 * (`journalRows` with `elideType`) is the data's own, and `corrupted` if the data has none.
 */
export const toJournalEntry = (row: Selectable<JournalTable>): JournalEntry => {
  const seq = toNumber(row.seq)
  const where = `journal entry ${row.run_id}#${seq}`
  const data = decodeJson(row.data, where)
  let type = row.type
  if (type === '') {
    const own = typeOfData(data)
    if (typeof own !== 'string' || own === '')
      throw new StoreError('corrupted', `${where}: stored type is missing`)
    type = own
  }
  return { runId: row.run_id, seq, type, at: toNumber(row.at), data }
}

/** A snapshot row as a snapshot; unparsable state is `corrupted`, naming run and seq. */
export const toSnapshot = (row: {
  run_id: string
  seq: number
  schema_version: number
  at: number | string
  state: string
}): Snapshot => {
  const seq = toNumber(row.seq)
  return {
    runId: row.run_id,
    seq,
    state: decodeJson<JsonValue>(row.state, `snapshot ${row.run_id}#${seq}`),
    schemaVersion: toNumber(row.schema_version),
    at: toNumber(row.at),
  }
}

export const fencedError = (runId: string, lease: Pick<Lease, 'ownerId' | 'epoch'>): StoreError =>
  new StoreError('fenced', `run ${runId}: lease ${lease.ownerId}@${lease.epoch} is not current`)

export const conflictError = (runId: string, last: number, expected: number): StoreError =>
  new StoreError('conflict', `run ${runId}: journal is at seq ${last}, not ${expected}`)

const lastSeqOf = async (db: KyselyType<Database>, runId: string): Promise<number> => {
  const row = await db
    .selectFrom('journal')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('run_id', '=', runId)
    .executeTakeFirst()
  return row?.seq == null ? 0 : toNumber(row.seq)
}

/**
 * Journal reads and snapshots through Kysely (Postgres; SQLite has a prepared hot path). Each
 * dialect brings its own `append`: `src/postgres/append.ts`, `src/sqlite/hot-path.ts`.
 */
export const createSqlJournal = (context: SqlContext) => ({
  async read(runId: string, options: { readonly afterSeq?: number; readonly limit?: number } = {}) {
    checkId('runId', runId)
    const afterSeq = checkSeq('afterSeq', options.afterSeq ?? 0)
    let query = context.db
      .selectFrom('journal')
      .select(['run_id', 'seq', 'type', 'at', 'data'])
      .where('run_id', '=', runId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
    if (options.limit !== undefined) query = query.limit(checkPositive('limit', options.limit))
    return (await query.execute()).map(toJournalEntry)
  },

  lastSeq: (runId: string): Promise<number> => lastSeqOf(context.db, checkId('runId', runId)),

  async putSnapshot(runId: string, seq: number, state: JsonValue, schemaVersion: number): Promise<void> {
    checkId('runId', runId)
    checkSeq('seq', seq)
    checkSeq('schemaVersion', schemaVersion)
    const text = encodeJson(state, 'snapshot state')
    const at = context.now()
    await context.transaction(async (trx) => {
      if (seq > (await lastSeqOf(trx, runId)))
        throw new StoreError('invalid-argument', `run ${runId}: snapshot seq ${seq} is past the journal`)
      await trx
        .insertInto('snapshots')
        .values({ run_id: runId, seq, schema_version: schemaVersion, at, state: text })
        .onConflict((conflict) =>
          conflict
            .column('run_id')
            .doUpdateSet({ seq, schema_version: schemaVersion, at, state: text })
            .where('snapshots.seq', '<=', seq),
        )
        .execute()
    })
  },

  async getSnapshot(runId: string): Promise<Snapshot | undefined> {
    const row = await context.db
      .selectFrom('snapshots')
      .selectAll()
      .where('run_id', '=', checkId('runId', runId))
      .executeTakeFirst()
    return row === undefined ? undefined : toSnapshot(row)
  },

  async pruneJournal(runId: string, throughSeq: number): Promise<number> {
    checkId('runId', runId)
    checkSeq('throughSeq', throughSeq)
    // One statement: only entries a snapshot covers, and never the head (seq numbering survives).
    const result = await context.db
      .deleteFrom('journal')
      .where('run_id', '=', runId)
      .where('seq', '<=', throughSeq)
      .where('seq', '<=', (eb) =>
        eb.selectFrom('snapshots').select('snapshots.seq').where('snapshots.run_id', '=', runId),
      )
      .where('seq', '<', (eb) =>
        eb
          .selectFrom('journal as head')
          .select((inner) => inner.fn.max('head.seq').as('seq'))
          .where('head.run_id', '=', runId),
      )
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  },
})
