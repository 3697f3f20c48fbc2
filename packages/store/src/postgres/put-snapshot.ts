import { type JsonValue, StoreError } from '@vel/core'
import { encodeJson, toNumber } from '../codec.ts'
import { checkId, checkSeq } from '../validate.ts'
import { type Statement, type Statements, statement } from './statements.ts'

/**
 * `putSnapshot` in one statement: the upsert runs only if the journal reaches `seq`, and the same
 * statement returns the head, so a snapshot past the journal is refused without a second query.
 */
export const putSnapshotStatement = (schema: string): Statement => {
  const table = (name: string) => `"${schema}"."${name}"`
  return statement(
    [
      `with head as (select coalesce(max(seq), 0) as seq from ${table('journal')} where run_id = $1::text)`,
      `, put as (insert into ${table('snapshots')} (run_id, seq, schema_version, at, state)`,
      `  select $1::text, $2::integer, $3::integer, $4::bigint, $5::text`,
      `  where (select seq from head) >= $2::integer`,
      `  on conflict (run_id) do update set seq = excluded.seq, schema_version = excluded.schema_version,`,
      `    at = excluded.at, state = excluded.state`,
      `  where ${table('snapshots')}.seq <= excluded.seq returning 1)`,
      `select (select seq from head) as head`,
    ].join('\n'),
  )
}

export async function putSnapshotPostgres(
  statements: Statements,
  put: Statement,
  now: () => number,
  runId: string,
  seq: number,
  state: JsonValue,
  schemaVersion: number,
): Promise<void> {
  checkId('runId', runId)
  checkSeq('seq', seq)
  checkSeq('schemaVersion', schemaVersion)
  const text = encodeJson(state, 'snapshot state')
  const rows = await statements.run<{ head: number | string }>(put, [runId, seq, schemaVersion, now(), text])
  if (toNumber(rows[0]?.head ?? 0) < seq)
    throw new StoreError('invalid-argument', `run ${runId}: snapshot seq ${seq} is past the journal`)
}
