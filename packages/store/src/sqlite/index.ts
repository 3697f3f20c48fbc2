/**
 * @vel/store/sqlite: the SQLite store (better-sqlite3 through Kysely) and its migrations. Needs the
 * optional peers `better-sqlite3` and `kysely`; the main `@vel/store` entry never loads them.
 */

export { migrateToLatest } from '../migrate.ts'
export type { Database as StoreDatabase } from '../sql/schema.ts'
export { sqliteMigrations } from './migrations/index.ts'
export { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts'
