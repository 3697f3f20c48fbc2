import { type JsonValue, StoreError } from '@vel/core'
import { type Kysely, sql } from 'kysely'
import { encodeJson, toNumber } from '../codec.ts'
import type { Database } from '../sql/schema.ts'
import { checkId, checkSeq } from '../validate.ts'

/**
 * `putSnapshot` in one statement: the upsert runs only if the journal reaches `seq`, and the same
 * statement returns the head, so a snapshot past the journal is refused without a second query.
 */
export async function putSnapshotPostgres(
  db: Kysely<Database>,
  schema: string,
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
  const table = (name: 'journal' | 'snapshots') => sql.table(`${schema}.${name}`)
  const result = await sql<{ head: number | string }>`
    with head as (select coalesce(max(seq), 0) as seq from ${table('journal')} where run_id = ${runId})
    , put as (
      insert into ${table('snapshots')} (run_id, seq, schema_version, at, state)
      select ${runId}::text, ${seq}::integer, ${schemaVersion}::integer, ${now()}::bigint, ${text}::text
      where (select seq from head) >= ${seq}
      on conflict (run_id) do update set seq = excluded.seq, schema_version = excluded.schema_version,
        at = excluded.at, state = excluded.state
      where ${table('snapshots')}.seq <= excluded.seq
      returning 1)
    select (select seq from head) as head`.execute(db)
  if (toNumber(result.rows[0]?.head ?? 0) < seq)
    throw new StoreError('invalid-argument', `run ${runId}: snapshot seq ${seq} is past the journal`)
}
