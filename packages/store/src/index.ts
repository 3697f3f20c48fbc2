/**
 * @vel/store: where runs live. `Store` implementations for memory (this entry), SQLite
 * (`@vel/store/sqlite`, better-sqlite3) and Postgres (`@vel/store/postgres`, pg), the SQL ones
 * through Kysely with versioned migrations, all passing the one conformance suite in
 * `@vel/store/testing`. This entry imports only `@vel/core`: never kysely or a driver, so the
 * memory store installs no native code. No entry imports the runtime (`@vel/actors`), providers,
 * or vitest (outside `testing.ts`).
 */

// errors
export { toStoreError } from './map-error.ts'
// memory
export { createMemoryState, type MemoryState } from './memory-state.ts'
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.ts'
