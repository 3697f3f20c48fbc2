import { type Message, type SessionRecord, type Store, StoreError } from '@vel/core'
import type { Kysely } from 'kysely'
import { decodeJson, encodeJson, toNumber } from '../codec.ts'
import { checkId, checkSeq, sessionTexts } from '../validate.ts'
import type { SqlContext } from './context.ts'
import type { Database } from './schema.ts'

/**
 * A session as read: its head row and its messages (rows in position order; a null position, from
 * an outer join, is no message). Both dialects read with prepared statements and build it here.
 */
export const toSessionRecord = (
  sessionId: string,
  head: { readonly version: number | string; readonly updated_at: number | string },
  rows: ReadonlyArray<{ readonly position: number | string | null; readonly message: string | null }>,
): SessionRecord => {
  const messages: Message[] = []
  for (const row of rows)
    if (row.position !== null)
      messages.push(
        decodeJson<Message>(row.message, `session ${sessionId} message #${toNumber(row.position)}`),
      )
  return { sessionId, messages, version: toNumber(head.version), updatedAt: toNumber(head.updated_at) }
}

/**
 * Session writes through Kysely, shared by SQLite and Postgres. Messages are rows, so an append writes
 * only the new ones; `version` counts writes (appends and replaces), not messages.
 */
export const createSqlSessions = (
  context: SqlContext,
): Pick<Store, 'appendSession' | 'replaceSession' | 'deleteSession'> => {
  const write = async (
    sessionId: string,
    messages: ReadonlyArray<Message>,
    expectedVersion: number | undefined,
    replace: boolean,
    runId?: string,
  ): Promise<number> => {
    const texts = sessionTexts(sessionId, messages, expectedVersion, runId, context.encodeData ?? encodeJson)
    const time = context.now()
    return context.transaction(async (trx: Kysely<Database>) => {
      // The insert (a write first, so SQLite takes its write lock up front) makes sure the head row
      // exists; the conditional update then locks it, so concurrent writers serialize on it.
      await trx
        .insertInto('sessions')
        .values({ session_id: sessionId, version: 0, message_count: 0, updated_at: time })
        .onConflict((conflict) => conflict.column('session_id').doNothing())
        .execute()
      if (runId !== undefined) {
        // A run's turn lands at most once. A concurrent writer of the same turn waits on the key
        // (Postgres) or the write lock (SQLite), then finds the row; a failed write rolls it back.
        const turn = await trx
          .insertInto('session_turns')
          .values({ session_id: sessionId, run_id: runId })
          .onConflict((conflict) => conflict.columns(['session_id', 'run_id']).doNothing())
          .returning('run_id')
          .executeTakeFirst()
        if (turn === undefined) {
          const current = await trx
            .selectFrom('sessions')
            .select('version')
            .where('session_id', '=', sessionId)
            .executeTakeFirstOrThrow()
          return toNumber(current.version)
        }
      }
      let update = trx
        .updateTable('sessions')
        .set((eb) => ({
          version: eb('version', '+', 1),
          message_count: replace ? texts.length : eb('message_count', '+', texts.length),
          updated_at: time,
        }))
        .where('session_id', '=', sessionId)
      if (expectedVersion !== undefined) update = update.where('version', '=', expectedVersion)
      const head = await update.returning(['version', 'message_count']).executeTakeFirst()
      if (head === undefined)
        throw new StoreError('conflict', `session ${sessionId} is not at version ${expectedVersion}`)
      if (replace) await trx.deleteFrom('session_messages').where('session_id', '=', sessionId).execute()
      const first = toNumber(head.message_count) - texts.length
      if (texts.length > 0)
        await trx
          .insertInto('session_messages')
          .values(
            texts.map((message, index) => ({ session_id: sessionId, position: first + index, message })),
          )
          .execute()
      return toNumber(head.version)
    })
  }

  return {
    appendSession: (
      sessionId: string,
      messages: ReadonlyArray<Message>,
      expectedVersion?: number,
      options?: { readonly runId?: string },
    ) => write(sessionId, messages, expectedVersion, false, options?.runId),
    replaceSession: (sessionId: string, messages: ReadonlyArray<Message>, expectedVersion: number) =>
      write(sessionId, messages, checkSeq('expectedVersion', expectedVersion), true),
    async deleteSession(sessionId: string): Promise<void> {
      checkId('sessionId', sessionId)
      await context.transaction(async (trx) => {
        await trx.deleteFrom('session_messages').where('session_id', '=', sessionId).execute()
        await trx.deleteFrom('session_turns').where('session_id', '=', sessionId).execute()
        await trx.deleteFrom('sessions').where('session_id', '=', sessionId).execute()
      })
    },
  }
}
