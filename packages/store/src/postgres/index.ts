/**
 * @vel/store/postgres: the Postgres store (pg through Kysely) and its migrations. Needs the
 * optional peers `pg` and `kysely`; the main `@vel/store` entry never loads them.
 */

export { migrateToLatest } from '../migrate.ts'
export type { Database as StoreDatabase } from '../sql/schema.ts'
export { postgresMigrations } from './migrations/index.ts'
export { createPostgresStore, type PostgresStoreOptions } from './postgres-store.ts'
