import type { Kysely, Migration } from 'kysely'

// Kysely migrations are written against an unknown schema, as the database may be any version.
// biome-ignore lint/suspicious/noExplicitAny: the Migration interface takes Kysely<any>
type AnyDb = Kysely<any>

/** Version 1 for SQLite: journal, snapshots, runs, leases, sessions. Integers are 64-bit. */
export const initial: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('journal')
      .addColumn('run_id', 'text', (column) => column.notNull())
      .addColumn('seq', 'integer', (column) => column.notNull())
      .addColumn('type', 'text', (column) => column.notNull())
      .addColumn('at', 'integer', (column) => column.notNull())
      .addColumn('data', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('journal_pk', ['run_id', 'seq'])
      .execute()
    await db.schema
      .createTable('snapshots')
      .addColumn('run_id', 'text', (column) => column.primaryKey())
      .addColumn('seq', 'integer', (column) => column.notNull())
      .addColumn('schema_version', 'integer', (column) => column.notNull())
      .addColumn('at', 'integer', (column) => column.notNull())
      .addColumn('state', 'text', (column) => column.notNull())
      .execute()
    await db.schema
      .createTable('runs')
      .addColumn('run_id', 'text', (column) => column.primaryKey())
      .addColumn('agent_id', 'text', (column) => column.notNull())
      .addColumn('session_id', 'text')
      .addColumn('parent_run_id', 'text')
      .addColumn('idempotency_key', 'text')
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('pending', 'text', (column) => column.notNull())
      .addColumn('answer', 'text', (column) => column.notNull())
      .addColumn('error', 'text', (column) => column.notNull())
      .addColumn('metadata', 'text', (column) => column.notNull())
      .addColumn('created_at', 'integer', (column) => column.notNull())
      .addColumn('updated_at', 'integer', (column) => column.notNull())
      .execute()
    await createRunIndexes(db)
    await db.schema
      .createTable('leases')
      .addColumn('run_id', 'text', (column) => column.primaryKey())
      .addColumn('owner_id', 'text')
      .addColumn('epoch', 'integer', (column) => column.notNull())
      .addColumn('expires_at', 'integer', (column) => column.notNull())
      .execute()
    await db.schema
      .createTable('sessions')
      .addColumn('session_id', 'text', (column) => column.primaryKey())
      .addColumn('version', 'integer', (column) => column.notNull())
      .addColumn('message_count', 'integer', (column) => column.notNull())
      .addColumn('updated_at', 'integer', (column) => column.notNull())
      .execute()
    await db.schema
      .createTable('session_messages')
      .addColumn('session_id', 'text', (column) => column.notNull())
      .addColumn('position', 'integer', (column) => column.notNull())
      .addColumn('message', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('session_messages_pk', ['session_id', 'position'])
      .execute()
  },
  async down(db: AnyDb) {
    for (const table of ['session_messages', 'sessions', 'leases', 'runs', 'snapshots', 'journal'])
      await db.schema.dropTable(table).execute()
  },
}

/** Indexes for the idempotency key and for each `listRuns` filter in newest-first order. */
export async function createRunIndexes(db: AnyDb): Promise<void> {
  await db.schema
    .createIndex('runs_idempotency_key')
    .on('runs')
    .columns(['agent_id', 'idempotency_key'])
    .unique()
    .execute()
  for (const column of ['agent_id', 'status', 'session_id', 'parent_run_id'])
    await db.schema
      .createIndex(`runs_by_${column}`)
      .on('runs')
      .columns([column, 'created_at', 'run_id'])
      .execute()
  await db.schema.createIndex('runs_by_created_at').on('runs').columns(['created_at', 'run_id']).execute()
}
