import type { AppendOptions, JournalEntryInput } from '@vel/core'
import { type Kysely, sql } from 'kysely'
import { encodeJson, toNumber } from '../codec.ts'
import { conflictError, fencedError, journalRows } from '../sql/journal.ts'
import type { Database } from '../sql/schema.ts'
import { checkSeq } from '../validate.ts'

/**
 * Appends in one statement, so one round trip, whatever the outcome: CTEs read the journal head
 * and (with a lease) lock the lease row `FOR SHARE`, so a takeover waits for the append; the
 * entries, and the snapshot when given, are inserted only if the head is `expectedSeq` and the
 * lease matches; the same statement returns the head and whether the lease matched, so a refused
 * append says why without asking again. A concurrent writer of the same seq fails on the primary
 * key: a conflict too. Data-modifying CTEs run to completion whether or not the final select reads
 * them, and the whole statement is atomic.
 */
export async function appendPostgres(
  db: Kysely<Database>,
  schema: string,
  now: () => number,
  runId: string,
  entries: ReadonlyArray<JournalEntryInput>,
  expectedSeq: number,
  options: AppendOptions = {},
): Promise<number> {
  const time = now()
  const rows = journalRows(runId, entries, expectedSeq, time)
  const { lease, snapshot } = options
  const snapshotText = snapshot === undefined ? undefined : encodeJson(snapshot.state, 'snapshot state')
  if (snapshot !== undefined) checkSeq('snapshot.schemaVersion', snapshot.schemaVersion)
  const newSeq = expectedSeq + rows.length
  // Raw SQL is not rewritten by Kysely's schema plugin, so tables are qualified here.
  const table = (name: 'journal' | 'leases' | 'snapshots') => sql.table(`${schema}.${name}`)
  const leaseCte =
    lease === undefined
      ? sql``
      : sql`, held as (select 1 from ${table('leases')} where run_id = ${runId}
          and owner_id = ${lease.ownerId} and epoch = ${lease.epoch} for share)`
  const leaseHeld = lease === undefined ? sql`true` : sql`exists (select 1 from held)`
  const insertCte =
    rows.length === 0
      ? sql``
      : sql`, inserted as (
          insert into ${table('journal')} (run_id, seq, type, at, data)
          select * from (values ${sql.join(
            rows.map(
              (row) =>
                sql`(${row.run_id}::text, ${row.seq}::integer, ${row.type}::text, ${row.at}::bigint, ${row.data}::text)`,
            ),
          )}) as entry (run_id, seq, type, at, data)
          where exists (select 1 from ok) returning 1)`
  const snapshotCte =
    snapshot === undefined
      ? sql``
      : sql`, snapshot as (
          insert into ${table('snapshots')} (run_id, seq, schema_version, at, state)
          select ${runId}::text, ${newSeq}::integer, ${snapshot.schemaVersion}::integer, ${time}::bigint,
            ${snapshotText}::text
          where exists (select 1 from ok)
          on conflict (run_id) do update set seq = excluded.seq, schema_version = excluded.schema_version,
            at = excluded.at, state = excluded.state
          where ${table('snapshots')}.seq <= excluded.seq
          returning 1)`
  const result = await sql<{ head: number | string; held: boolean }>`
    with head as (select coalesce(max(seq), 0) as seq from ${table('journal')} where run_id = ${runId})
    ${leaseCte}
    , ok as (select 1 from head where head.seq = ${expectedSeq} and ${leaseHeld})
    ${insertCte}
    ${snapshotCte}
    select (select seq from head) as head, ${leaseHeld} as held`.execute(db)
  const outcome = result.rows[0]
  if (outcome === undefined) throw conflictError(runId, expectedSeq, expectedSeq)
  // A lease that is not current wins over a moved journal.
  if (lease !== undefined && !outcome.held) throw fencedError(runId, lease)
  const head = toNumber(outcome.head)
  if (head !== expectedSeq) throw conflictError(runId, head, expectedSeq)
  return newSeq
}
