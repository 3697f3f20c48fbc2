import type { Message } from '@vel/core'
import { encodeJson, toNumber } from '../codec.ts'
import { sessionTexts } from '../validate.ts'
import { type Statement, type Statements, statement } from './statements.ts'

/**
 * An append with no version check, in one statement. With a run's turn, a CTE records the turn
 * (nothing if it is there already) and the rest runs only if it did; the head row is an upsert
 * (a new session starts at version 1; an existing one is locked, so concurrent appends serialize
 * on it and each sees the count the previous one left); the messages take the positions after the
 * count before this append. Parameters: $1 session, $2 message count, $3 time, $4 messages, then
 * $5 run with a turn.
 */
const appendText = (schema: string, withTurn: boolean): string => {
  const table = (name: string) => `"${schema}"."${name}"`
  return [
    withTurn
      ? [
          `with turn as (insert into ${table('session_turns')} (session_id, run_id)`,
          `  values ($1::text, $5::text) on conflict (session_id, run_id) do nothing returning 1)`,
          `, head as (`,
        ].join('\n')
      : 'with head as (',
    `  insert into ${table('sessions')} as head_row (session_id, version, message_count, updated_at)`,
    `  select $1::text, 1, $2::integer, $3::bigint${withTurn ? ' where exists (select 1 from turn)' : ''}`,
    `  on conflict (session_id) do update set version = head_row.version + 1,`,
    `    message_count = head_row.message_count + excluded.message_count, updated_at = excluded.updated_at`,
    `  returning version, message_count)`,
    `, written as (insert into ${table('session_messages')} (session_id, position, message)`,
    `  select $1::text, head.message_count - $2::integer + entry.n::integer - 1, entry.message`,
    `  from head, unnest($4::text[]) with ordinality as entry (message, n) returning 1)`,
    `select (select version from head) as version`,
  ].join('\n')
}

/** The statements of `appendSessionPostgres` for one schema. */
export interface AppendSessionStatements {
  readonly plain: Statement
  readonly turn: Statement
  /** The session's version ($1), for a turn written before. */
  readonly version: Statement
}

export const appendSessionStatements = (schema: string): AppendSessionStatements => ({
  plain: statement(appendText(schema, false)),
  turn: statement(appendText(schema, true)),
  version: statement(`select version from "${schema}"."sessions" where session_id = $1::text`),
})

/**
 * `appendSession` without `expectedVersion` in one round trip: what a run does when it ends (its
 * turn, once). A turn written before changes nothing and returns the current version (a second,
 * rare, statement: a concurrent writer of the same turn has committed by the time the key lets
 * this one go, and only a new statement sees that).
 */
export async function appendSessionPostgres(
  statements: Statements,
  shapes: AppendSessionStatements,
  now: () => number,
  sessionId: string,
  messages: ReadonlyArray<Message>,
  runId: string | undefined,
): Promise<number> {
  const texts = sessionTexts(sessionId, messages, undefined, runId, encodeJson)
  const values: unknown[] = [sessionId, texts.length, now(), texts]
  if (runId !== undefined) values.push(runId)
  const rows = await statements.run<{ version: number | null }>(
    runId === undefined ? shapes.plain : shapes.turn,
    values,
  )
  const version = rows[0]?.version
  if (version !== null && version !== undefined) return toNumber(version)
  const current = await statements.run<{ version: number }>(shapes.version, [sessionId])
  return toNumber(current[0]?.version ?? 0)
}
