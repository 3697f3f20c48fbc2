import type { JournalEntryInput, Lease } from '@vel/core'
import { type Kysely, sql } from 'kysely'
import { toNumber } from '../codec.ts'
import { conflictError, fencedError, journalRows } from '../sql/journal.ts'
import type { Database } from '../sql/schema.ts'

/**
 * Appends in one statement (one round trip): the rows are inserted only if the journal head is
 * `expectedSeq` and, with a lease, the lease row matches (locked `FOR SHARE`, so a takeover waits
 * for the append). A concurrent writer of the same seq fails on the primary key: a conflict too.
 */
export async function appendPostgres(
  db: Kysely<Database>,
  schema: string | undefined,
  now: () => number,
  runId: string,
  entries: ReadonlyArray<JournalEntryInput>,
  expectedSeq: number,
  lease: Pick<Lease, 'ownerId' | 'epoch'> | undefined,
): Promise<number> {
  const rows = journalRows(runId, entries, expectedSeq, now())
  // Raw SQL is not rewritten by Kysely's schema plugin, so tables are qualified here.
  const table = (name: 'journal' | 'leases') => sql.table(schema === undefined ? name : `${schema}.${name}`)
  if (rows.length === 0) return checkHead(db, runId, expectedSeq, lease)
  const values = sql.join(
    rows.map(
      (row) =>
        sql`(${row.run_id}::text, ${row.seq}::integer, ${row.type}::text, ${row.at}::bigint, ${row.data}::text)`,
    ),
  )
  const leaseHeld =
    lease === undefined
      ? sql`true`
      : sql`exists (select 1 from ${table('leases')} where run_id = ${runId}
          and owner_id = ${lease.ownerId} and epoch = ${lease.epoch} for share)`
  const result = await sql`
    insert into ${table('journal')} (run_id, seq, type, at, data)
    select * from (values ${values}) as entry (run_id, seq, type, at, data)
    where (select coalesce(max(seq), 0) from ${table('journal')} where run_id = ${runId}) = ${expectedSeq}
      and ${leaseHeld}`.execute(db)
  if (Number(result.numAffectedRows ?? 0) === rows.length) return expectedSeq + rows.length
  await checkHead(db, runId, expectedSeq, lease)
  // The head matched when we looked again, but it did not when the insert ran.
  throw conflictError(runId, expectedSeq, expectedSeq)
}

/** Throws `fenced` or `conflict` as `append` would; returns the head when neither applies. */
async function checkHead(
  db: Kysely<Database>,
  runId: string,
  expectedSeq: number,
  lease: Pick<Lease, 'ownerId' | 'epoch'> | undefined,
): Promise<number> {
  if (lease !== undefined) {
    const current = await db
      .selectFrom('leases')
      .select(['owner_id', 'epoch'])
      .where('run_id', '=', runId)
      .executeTakeFirst()
    if (current?.owner_id !== lease.ownerId || current.epoch !== lease.epoch) throw fencedError(runId, lease)
  }
  const head = await db
    .selectFrom('journal')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('run_id', '=', runId)
    .executeTakeFirst()
  const last = head?.seq == null ? 0 : toNumber(head.seq)
  if (last !== expectedSeq) throw conflictError(runId, last, expectedSeq)
  return last
}
