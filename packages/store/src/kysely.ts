/**
 * Kysely's run-time values for the SQLite store, which loads them with `import()` on first need:
 * a process that only opens a migrated database, resumes and steps runs never loads Kysely
 * (docs/decisions/0126-sqlite-store-loads-kysely-on-first-need.md). The build puts this module
 * and the Kysely code it reaches in a chunk of their own.
 */
export { Kysely, Migrator, SqliteDialect, sql } from 'kysely'
