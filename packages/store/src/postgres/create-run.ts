import type { CreatedRun, NewRun } from '@vel/core'
import { StoreError } from '@vel/core'
import { toNumber } from '../codec.ts'
import { leasedElsewhere, newRunRecord } from '../run-record.ts'
import { journalRows } from '../sql/journal.ts'
import { toLease } from '../sql/leases.ts'
import { runRow } from '../sql/runs.ts'
import { checkLease } from '../validate.ts'
import { type Statement, type Statements, statement } from './statements.ts'

/**
 * `createRun` with a lease, in one statement: a CTE inserts the row (with `claimSession`, only if
 * the session has no unfinished run; with entries, only if the run's journal is empty), the next
 * takes the lease for the inserted row by `acquireLease`'s rule, the next (with entries) journals
 * them at seq 1.., and the select says what happened (it reads the journal as it was before the
 * statement). Parameters: $1 run, $2 agent, $3 session, $4 parent, $5 idempotency key, $6 status,
 * $7 metadata, $8 time, $9 owner, $10 expiry, then with entries $11 types, $12 times, $13 data,
 * then with `claimSession` the session's expected version (null for any).
 */
const createText = (schema: string, claim: boolean, withEntries: boolean): string => {
  const table = (name: string) => `"${schema}"."${name}"`
  const values = `$1::text, $2::text, $3::text, $4::text, $5::text, $6::text, '[]', 'null', 'null', $7::text, $8::bigint, $8::bigint`
  // The session's expected version (null: any) follows the other parameters.
  const version = `$${withEntries ? 14 : 11}::integer`
  const conditions = [
    ...(claim
      ? [
          `not exists (select 1 from ${table('runs')} where session_id = $3::text and status in ('running', 'waiting'))`,
          `(${version} is null or coalesce((select version from ${table('sessions')} where session_id = $3::text), 0) = ${version})`,
        ]
      : []),
    ...(withEntries ? [`not exists (select 1 from ${table('journal')} where run_id = $1::text)`] : []),
  ]
  return [
    `with created as (insert into ${table('runs')} (run_id, agent_id, session_id, parent_run_id,`,
    `  idempotency_key, status, pending, answer, error, metadata, created_at, updated_at)`,
    conditions.length > 0 ? `  select ${values} where ${conditions.join(' and ')}` : `  values (${values})`,
    `  returning run_id)`,
    `, taken as (insert into ${table('leases')} as lease (run_id, owner_id, epoch, expires_at)`,
    `  select run_id, $9::text, 1, $10::bigint from created`,
    `  on conflict (run_id) do update set`,
    `    epoch = case when lease.owner_id = excluded.owner_id then lease.epoch else lease.epoch + 1 end,`,
    `    owner_id = excluded.owner_id, expires_at = excluded.expires_at`,
    `  where lease.owner_id is null or lease.owner_id = excluded.owner_id or lease.expires_at <= $8::bigint`,
    `  returning owner_id, epoch, expires_at)`,
    withEntries
      ? [
          `, journaled as (insert into ${table('journal')} (run_id, seq, type, at, data)`,
          `  select created.run_id, entry.n, entry.type, entry.at, entry.data`,
          `  from created, unnest($11::text[], $12::bigint[], $13::text[]) with ordinality as entry (type, at, data, n)`,
          `  returning 1)`,
        ].join('\n')
      : '',
    `select (select count(*) from created) as created, taken.owner_id, taken.epoch, taken.expires_at,`,
    withEntries
      ? `  exists (select 1 from ${table('journal')} where run_id = $1::text) as journal_taken`
      : '  false as journal_taken',
    `from (select 1) as one left join taken on true`,
  ]
    .filter((line) => line !== '')
    .join('\n')
}

/** The statements of `createRunPostgres` for one schema. */
export interface CreateRunStatements {
  readonly plain: Statement
  readonly claim: Statement
  /** As plain and claim, with the run's first journal entries. */
  readonly plainWithEntries: Statement
  readonly claimWithEntries: Statement
  /** Another unfinished run of the session than $2 ($1 session). */
  readonly rival: Statement
  /**
   * Removes run $1 and lets go of its lease ($2 owner, $3 epoch), keeping the lease's epoch; with
   * $4, its journal too.
   */
  readonly undo: Statement
}

export const createRunStatements = (schema: string): CreateRunStatements => {
  const table = (name: string) => `"${schema}"."${name}"`
  return {
    plain: statement(createText(schema, false, false)),
    claim: statement(createText(schema, true, false)),
    plainWithEntries: statement(createText(schema, false, true)),
    claimWithEntries: statement(createText(schema, true, true)),
    rival: statement(
      `select 1 as found from ${table('runs')} where session_id = $1::text and status in ('running', 'waiting') and run_id <> $2::text limit 1`,
    ),
    undo: statement(
      [
        `with released as (update ${table('leases')} set owner_id = null, expires_at = 0`,
        `  where run_id = $1::text and owner_id = $2::text and epoch = $3::integer returning 1)`,
        // With entries ($4), the journal this create wrote (it was empty before) goes too.
        `, cleared as (delete from ${table('journal')} where run_id = $1::text and $4::boolean returning 1)`,
        `delete from ${table('runs')} where run_id = $1::text`,
      ].join('\n'),
    ),
  }
}

interface CreatedRow {
  readonly created: number | string
  readonly owner_id: string | null
  readonly epoch: number | null
  readonly expires_at: number | string | null
  readonly journal_taken: boolean
}

/**
 * Creates a run and takes its lease in one round trip (the usual case). A refusal writes nothing,
 * except in two rare cases that undo their row with a second statement: another owner's live lease
 * under this run id (`conflict`), and, with `claimSession`, another unfinished run of the session
 * seen once this row is committed (`busy`; Postgres at read committed lets two claims run blind to
 * each other, so each looks again afterwards: both may back off, both never go on).
 */
export async function createRunPostgres(
  statements: Statements,
  shapes: CreateRunStatements,
  now: () => number,
  run: NewRun & { readonly lease: NonNullable<NewRun['lease']> },
): Promise<CreatedRun> {
  const time = now()
  const record = newRunRecord(run, time)
  const { ownerId, ttlMs } = run.lease
  checkLease(record.runId, ownerId, ttlMs)
  const row = runRow(record)
  const claim = run.claimSession === true && record.sessionId !== null
  const entries = run.entries === undefined ? undefined : journalRows(record.runId, run.entries, 0, time)
  const values: unknown[] = [
    row.run_id,
    row.agent_id,
    row.session_id,
    row.parent_run_id,
    row.idempotency_key,
    row.status,
    row.metadata,
    time,
    ownerId,
    time + ttlMs,
  ]
  if (entries !== undefined)
    values.push(
      entries.map((entry) => entry.type),
      entries.map((entry) => entry.at),
      entries.map((entry) => entry.data),
    )
  if (claim) values.push(run.sessionVersion ?? null)
  const shape =
    entries === undefined
      ? claim
        ? shapes.claim
        : shapes.plain
      : claim
        ? shapes.claimWithEntries
        : shapes.plainWithEntries
  const rows = await statements.run<CreatedRow>(shape, values)
  const outcome = rows[0]
  const busy = () =>
    new StoreError(
      'busy',
      `session ${String(record.sessionId)} has an unfinished run${run.sessionVersion === undefined ? '' : ` or is not at version ${run.sessionVersion}`}`,
    )
  if (outcome?.journal_taken === true)
    throw new StoreError('conflict', `run ${record.runId}: journal is not empty`)
  if (outcome === undefined || toNumber(outcome.created) === 0) throw busy()
  const lease =
    outcome.epoch === null || outcome.expires_at === null
      ? undefined
      : toLease(record.runId, {
          owner_id: outcome.owner_id,
          epoch: outcome.epoch,
          expires_at: outcome.expires_at,
        })
  if (lease === undefined) {
    // The live lease is another owner's: epoch 0 matches no lease, so only the row goes.
    await statements.run(shapes.undo, [record.runId, ownerId, 0, entries !== undefined])
    throw leasedElsewhere(record.runId)
  }
  if (claim) {
    const rival = await statements.run(shapes.rival, [record.sessionId, record.runId])
    if (rival.length > 0) {
      await statements.run(shapes.undo, [record.runId, lease.ownerId, lease.epoch, entries !== undefined])
      throw busy()
    }
  }
  return entries === undefined ? { ...record, lease } : { ...record, lease, seq: entries.length }
}
