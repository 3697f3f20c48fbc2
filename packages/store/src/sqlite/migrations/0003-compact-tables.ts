import type { Kysely, Migration } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: the Migration interface takes Kysely<any>
type AnyDb = Kysely<any>

/** The small tables, reached only by their primary key: [name, columns, definition]. */
const keyedTables = [
  [
    'leases',
    'run_id, owner_id, epoch, expires_at',
    '(run_id text primary key, owner_id text, epoch integer not null, expires_at integer not null)',
  ],
  [
    'sessions',
    'session_id, version, message_count, updated_at',
    '(session_id text primary key, version integer not null, message_count integer not null, updated_at integer not null)',
  ],
  [
    'session_turns',
    'session_id, run_id',
    '(session_id text not null, run_id text not null, constraint session_turns_pk primary key (session_id, run_id))',
  ],
] as const

/** Rebuilds the small tables with or without a rowid, keeping every row (SQLite cannot alter a key). */
async function rebuildKeyedTables(db: AnyDb, withoutRowid: boolean): Promise<void> {
  // Kysely's values load on first need (ADR 0126); a migration runs with Kysely loaded anyway.
  const { sql } = await import('../../kysely.ts')
  for (const [table, columns, definition] of keyedTables) {
    await sql.raw(`create table ${table}_v3 ${definition}${withoutRowid ? ' without rowid' : ''}`).execute(db)
    await sql.raw(`insert into ${table}_v3 (${columns}) select ${columns} from ${table}`).execute(db)
    await sql.raw(`drop table ${table}`).execute(db)
    await sql.raw(`alter table ${table}_v3 rename to ${table}`).execute(db)
  }
}

/** Recreates the runs indexes on nullable columns, partial (`where ... is not null`) or whole. */
async function recreateNullableIndexes(db: AnyDb, partial: boolean): Promise<void> {
  const { sql } = await import('../../kysely.ts')
  const indexes = [
    ['runs_by_session_id', ['session_id', 'created_at', 'run_id'], 'session_id', false],
    ['runs_by_parent_run_id', ['parent_run_id', 'created_at', 'run_id'], 'parent_run_id', false],
    ['runs_idempotency_key', ['agent_id', 'idempotency_key'], 'idempotency_key', true],
  ] as const
  for (const [name, columns, nullable, unique] of indexes) {
    await db.schema.dropIndex(name).execute()
    let index = db.schema
      .createIndex(name)
      .on('runs')
      .columns([...columns])
    if (unique) index = index.unique()
    if (partial) index = index.where(sql.ref(nullable), 'is not', null)
    await index.execute()
  }
}

/**
 * Version 3 (SQLite only): the same tables, stored more compactly (docs/decisions/0090).
 * - `leases`, `sessions` and `session_turns` have small rows always reached by their primary key:
 *   `WITHOUT ROWID`, so the key is the b-tree, with no second copy of it in an index. The journal
 *   and the session messages keep their rowid: their rows may be several KB, which a rowid table
 *   keeps in its leaf pages and a `WITHOUT ROWID` table would spill (above about 1 KB) into
 *   overflow pages of their own.
 * - The run indexes on nullable columns skip the rows where the column is null; every query that
 *   uses them asks for a value, so SQLite still picks them, and a unique index treats nulls as
 *   distinct anyway.
 */
export const compactTables: Migration = {
  async up(db: AnyDb) {
    await rebuildKeyedTables(db, true)
    await recreateNullableIndexes(db, true)
  },
  async down(db: AnyDb) {
    await rebuildKeyedTables(db, false)
    await recreateNullableIndexes(db, false)
  },
}
