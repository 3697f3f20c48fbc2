import type { Message } from '@vel/core'
import { encodeJson, toNumber } from '../codec.ts'
import { sessionTexts } from '../validate.ts'
import { type Statement, type Statements, statement } from './statements.ts'

/** Where `sessionCtes` finds its values: parameter references such as `$1`. */
export interface SessionParameters {
  readonly session: string
  readonly count: string
  readonly time: string
  readonly messages: string
  /** With a run's turn. */
  readonly run?: string
}

/**
 * The CTEs of an append to a session with no version check, each `name as (...)`, in order. With
 * a run's turn, `turn` records it (nothing if it is there already) and the rest runs only if it
 * did; `session_head` is an upsert of the head row (a new session starts at version 1; an existing
 * one is locked, so concurrent appends serialize on it and each sees the count the previous one
 * left) returning the new version and count; `written` gives the messages the positions after the
 * count before this append. Data-modifying CTEs all run, whether or not anything reads them, and
 * all see one snapshot, so each step reads the previous one's `returning`. With a `guard` (a
 * condition), every one of them also needs it: without it, nothing is written.
 */
export const sessionCtes = (schema: string, p: SessionParameters, guard?: string): string[] => {
  const table = (name: string) => `"${schema}"."${name}"`
  const where = (...conditions: ReadonlyArray<string | undefined>) => {
    const list = conditions.filter((condition) => condition !== undefined)
    return list.length === 0 ? '' : ` where ${list.join(' and ')}`
  }
  const turn =
    p.run === undefined
      ? []
      : [
          [
            `turn as (insert into ${table('session_turns')} (session_id, run_id)`,
            `  select ${p.session}::text, ${p.run}::text${where(guard)}`,
            `  on conflict (session_id, run_id) do nothing returning 1)`,
          ].join('\n'),
        ]
  return [
    ...turn,
    [
      `session_head as (insert into ${table('sessions')} as head_row (session_id, version, message_count, updated_at)`,
      `  select ${p.session}::text, 1, ${p.count}::integer, ${p.time}::bigint${where(
        p.run === undefined ? undefined : 'exists (select 1 from turn)',
        guard,
      )}`,
      `  on conflict (session_id) do update set version = head_row.version + 1,`,
      `    message_count = head_row.message_count + excluded.message_count, updated_at = excluded.updated_at`,
      `  returning version, message_count)`,
    ].join('\n'),
    [
      `written as (insert into ${table('session_messages')} (session_id, position, message)`,
      `  select ${p.session}::text, session_head.message_count - ${p.count}::integer + entry.n::integer - 1, entry.message`,
      `  from session_head, unnest(${p.messages}::text[]) with ordinality as entry (message, n)${where(guard)}`,
      `  returning 1)`,
    ].join('\n'),
  ]
}

/**
 * An append with no version check, in one statement (see `sessionCtes`). Parameters: $1 session,
 * $2 message count, $3 time, $4 messages, then $5 run with a turn.
 */
const appendText = (schema: string, withTurn: boolean): string =>
  [
    `with ${sessionCtes(schema, { session: '$1', count: '$2', time: '$3', messages: '$4', ...(withTurn ? { run: '$5' } : {}) }).join('\n, ')}`,
    'select (select version from session_head) as version',
  ].join('\n')

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
 * `appendSession` without `expectedVersion` in one round trip: a run's turn, once, when it is not
 * written with the run's last entry (`AppendOptions.session`: finishing after a crash). A turn
 * written before changes nothing and returns the current version (a second, rare, statement: a
 * concurrent writer of the same turn has committed by the time the key lets this one go, and only
 * a new statement sees that).
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
