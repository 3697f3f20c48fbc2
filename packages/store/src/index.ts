/**
 * @vel/store: where runs live. `Store` implementations for memory, SQLite (better-sqlite3) and
 * Postgres (pg), the SQL ones through Kysely with versioned migrations, all passing the one
 * conformance suite in `@vel/store/testing`. It may import `@vel/core`, kysely and the two
 * drivers; it must not import the runtime (`@vel/actors`), providers, or vitest (outside
 * `testing.ts`).
 */

// errors
export { toStoreError } from './map-error.ts'
// memory
export { createMemoryState, type MemoryState } from './memory-state.ts'
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.ts'
// SQL stores, their Kysely migrations (one folder per dialect) and table types
export { migrateToLatest } from './migrate.ts'
export { postgresMigrations } from './postgres/migrations/index.ts'
export { createPostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.ts'
export type { Database as StoreDatabase } from './sql/schema.ts'
export { sqliteMigrations } from './sqlite/migrations/index.ts'
export { createSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.ts'
