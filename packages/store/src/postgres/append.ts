import { type AppendOptions, type JournalEntryInput, StoreError } from '@vel/core'
import { encodeJson, toNumber } from '../codec.ts'
import { patchColumns } from '../run-record.ts'
import { conflictError, fencedError, journalRows } from '../sql/journal.ts'
import { checkSeq, turnTexts } from '../validate.ts'
import { sessionCtes } from './append-session.ts'
import { type Statement, type Statements, statement } from './statements.ts'

/**
 * The append's statement for one shape (with or without a lease, a snapshot, a run patch, a
 * session turn).
 * CTEs read the journal head and (with a lease) lock the lease row `FOR SHARE`, so a takeover
 * waits for the append; the entries (`unnest` of arrays, so one statement serves any count) and
 * the snapshot are inserted only if the head is `expectedSeq` and the lease matches; the same
 * statement returns the head and whether the lease matched, so a refused append says why without
 * asking again. A concurrent writer of the same seq fails on the primary key: a conflict too.
 * Data-modifying CTEs run to completion whether or not the final select reads them, and the whole
 * statement is atomic. Parameters: $1 run, $2 expected seq, $3 types, $4 times, $5 data, then
 * ($6 owner, $7 epoch) with a lease, then (next four) the snapshot's seq, schema version, time and
 * state, then (next six) the patch's status, pending, answer, error and metadata (null: kept) and
 * the update time, then (next four) the session turn's session, message count, time and messages.
 * With a patch, `ok` also needs the run's index row, and the statement returns whether it was
 * there (`found`): the row is updated only with the entries, never without. With a session turn,
 * the CTEs of `appendSession` with the run's turn (`sessionCtes`) follow, each also needing `ok`:
 * a refused append writes no turn, and a turn written before changes nothing but the entries.
 */
const appendText = (
  schema: string,
  withLease: boolean,
  withSnapshot: boolean,
  withPatch: boolean,
  withSession: boolean,
): string => {
  const table = (name: string) => `"${schema}"."${name}"`
  const held = withLease ? 'exists (select 1 from held)' : 'true'
  const found = withPatch ? `exists (select 1 from ${table('runs')} where run_id = $1::text)` : 'true'
  const next = withLease ? 8 : 6
  const patch = withSnapshot ? next + 4 : next
  const turn = withPatch ? patch + 6 : patch
  return [
    `with head as (select coalesce(max(seq), 0) as seq from ${table('journal')} where run_id = $1::text)`,
    withLease
      ? `, held as (select 1 from ${table('leases')} where run_id = $1::text and owner_id = $6::text and epoch = $7::integer for share)`
      : '',
    `, ok as (select 1 from head where head.seq = $2::integer and ${held} and ${found})`,
    `, inserted as (insert into ${table('journal')} (run_id, seq, type, at, data)`,
    `  select $1::text, $2::integer + entry.n, entry.type, entry.at, entry.data`,
    `  from unnest($3::text[], $4::bigint[], $5::text[]) with ordinality as entry (type, at, data, n)`,
    `  where exists (select 1 from ok) returning 1)`,
    withSnapshot
      ? [
          `, snapshot as (insert into ${table('snapshots')} (run_id, seq, schema_version, at, state)`,
          `  select $1::text, $${next}::integer, $${next + 1}::integer, $${next + 2}::bigint, $${next + 3}::text`,
          `  where exists (select 1 from ok)`,
          `  on conflict (run_id) do update set seq = excluded.seq, schema_version = excluded.schema_version,`,
          `    at = excluded.at, state = excluded.state`,
          `  where ${table('snapshots')}.seq <= excluded.seq returning 1)`,
        ].join('\n')
      : '',
    withPatch
      ? [
          `, patched as (update ${table('runs')} set status = coalesce($${patch}::text, status),`,
          `    pending = coalesce($${patch + 1}::text, pending), answer = coalesce($${patch + 2}::text, answer),`,
          `    error = coalesce($${patch + 3}::text, error), metadata = coalesce($${patch + 4}::text, metadata),`,
          `    updated_at = $${patch + 5}::bigint`,
          `  where run_id = $1::text and exists (select 1 from ok) returning 1)`,
        ].join('\n')
      : '',
    ...(withSession
      ? sessionCtes(
          schema,
          {
            session: `$${turn}`,
            count: `$${turn + 1}`,
            time: `$${turn + 2}`,
            messages: `$${turn + 3}`,
            run: '$1',
          },
          'exists (select 1 from ok)',
        ).map((cte) => `, ${cte}`)
      : []),
    `select (select seq from head) as head, ${held} as held, ${found} as found`,
  ]
    .filter((line) => line !== '')
    .join('\n')
}

/**
 * The append's sixteen shapes for one schema, indexed by
 * `(lease ? 1 : 0) | (snapshot ? 2 : 0) | (run patch ? 4 : 0) | (session turn ? 8 : 0)`.
 */
export const appendStatements = (schema: string): ReadonlyArray<Statement> =>
  Array.from({ length: 16 }, (_, shape) =>
    statement(appendText(schema, (shape & 1) !== 0, (shape & 2) !== 0, (shape & 4) !== 0, (shape & 8) !== 0)),
  )

/**
 * Appends in one statement, so one round trip, whatever the outcome (see `appendText`); the
 * statement is prepared once per connection, so a step's append is bind and execute only.
 */
export async function appendPostgres(
  statements: Statements,
  shapes: ReadonlyArray<Statement>,
  now: () => number,
  runId: string,
  entries: ReadonlyArray<JournalEntryInput>,
  expectedSeq: number,
  options: AppendOptions = {},
): Promise<number> {
  const time = now()
  const rows = journalRows(runId, entries, expectedSeq, time)
  const { lease, snapshot, run, session } = options
  const snapshotText = snapshot === undefined ? undefined : encodeJson(snapshot.state, 'snapshot state')
  if (snapshot !== undefined) checkSeq('snapshot.schemaVersion', snapshot.schemaVersion)
  const patch = run === undefined ? undefined : patchColumns(run)
  const messageTexts = session === undefined ? undefined : turnTexts(session, runId, encodeJson)
  const newSeq = expectedSeq + rows.length
  const values: unknown[] = [
    runId,
    expectedSeq,
    rows.map((row) => row.type),
    rows.map((row) => row.at),
    rows.map((row) => row.data),
  ]
  if (lease !== undefined) values.push(lease.ownerId, lease.epoch)
  if (snapshot !== undefined) values.push(newSeq, snapshot.schemaVersion, time, snapshotText)
  if (patch !== undefined)
    values.push(patch.status, patch.pending, patch.answer, patch.error, patch.metadata, time)
  if (session !== undefined && messageTexts !== undefined)
    values.push(session.sessionId, messageTexts.length, time, messageTexts)
  const index =
    (lease === undefined ? 0 : 1) |
    (snapshot === undefined ? 0 : 2) |
    (patch === undefined ? 0 : 4) |
    (messageTexts === undefined ? 0 : 8)
  const shape = shapes[index] as Statement
  const result = await statements.run<{ head: number | string; held: boolean; found: boolean }>(shape, values)
  const outcome = result[0]
  if (outcome === undefined) throw conflictError(runId, expectedSeq, expectedSeq)
  // A lease that is not current wins over a moved journal.
  if (lease !== undefined && !outcome.held) throw fencedError(runId, lease)
  const head = toNumber(outcome.head)
  if (head !== expectedSeq) throw conflictError(runId, head, expectedSeq)
  if (!outcome.found) throw new StoreError('not-found', `run ${runId} not found`)
  return newSeq
}
