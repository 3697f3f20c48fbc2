import type { Migration } from 'kysely'
import { initial } from './0001-initial.ts'
import { sessionTurns } from './0002-session-turns.ts'
import { compactTables } from './0003-compact-tables.ts'

/** SQLite migrations by name; names sort in the order they run. */
export const sqliteMigrations: Readonly<Record<string, Migration>> = {
  '0001-initial': initial,
  '0002-session-turns': sessionTurns,
  '0003-compact-tables': compactTables,
}
