import type { Kysely, Migration } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: the Migration interface takes Kysely<any>
type AnyDb = Kysely<any>

/**
 * Version 2: `session_turns`, one row per run whose turn was appended to a session
 * (`appendSession` with `runId`), so a run that writes its turn again changes nothing.
 */
export const sessionTurns: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('session_turns')
      .addColumn('session_id', 'text', (column) => column.notNull())
      .addColumn('run_id', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('session_turns_pk', ['session_id', 'run_id'])
      .execute()
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('session_turns').execute()
  },
}
