import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Store } from '@vel/core'
import { UsageError } from './usage-error.ts'

/** Where runs live, as parsed from `--store` (or `VEL_STORE`). */
export type StoreSpec =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly filename: string }
  | { readonly kind: 'postgres'; readonly connectionString: string }

/** The store used when neither `--store` nor `VEL_STORE` is given. */
export const defaultStoreSpec = 'sqlite:./vel.db'

/**
 * Parses a store spec: `memory`, `sqlite:<path>` (a bare `*.db`/`*.sqlite` path also works) or a
 * `postgres://` / `postgresql://` connection string. Throws a `UsageError` for anything else.
 */
export function parseStoreSpec(spec: string): StoreSpec {
  const text = spec.trim()
  if (text === 'memory' || text === 'memory:') return { kind: 'memory' }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://'))
    return { kind: 'postgres', connectionString: text }
  if (text.startsWith('sqlite:')) {
    const filename = text.slice('sqlite:'.length).replace(/^\/\/(?=\.|\/)/, '')
    if (filename === '') throw new UsageError(`--store '${spec}': give a file, e.g. sqlite:./vel.db`)
    return { kind: 'sqlite', filename: filename === ':memory:' ? filename : resolve(filename) }
  }
  if (/\.(db|sqlite3?)$/i.test(text) && !text.includes('://'))
    return { kind: 'sqlite', filename: resolve(text) }
  throw new UsageError(
    `--store '${spec}' is not a store: use sqlite:<file>, postgres://user:pass@host/db or memory`,
  )
}

/** A human-readable name of the store (the password of a connection string hidden). */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === 'memory') return 'memory'
  if (spec.kind === 'sqlite') return `sqlite:${spec.filename}`
  return spec.connectionString.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')
}

/**
 * Opens the store and brings its schema up to date. `mustExist` (for commands that only read or
 * continue runs) refuses to create a new SQLite file, so a typo in a path is an error, not an
 * empty list.
 */
export async function openStore(
  spec: StoreSpec,
  options: { readonly mustExist?: boolean } = {},
): Promise<Store> {
  if (
    spec.kind === 'sqlite' &&
    options.mustExist &&
    spec.filename !== ':memory:' &&
    !existsSync(spec.filename)
  )
    throw new UsageError(`no SQLite database at ${spec.filename} (pass --store, or start a run first)`)
  // Each store is its own entry point, so only the driver in use is loaded.
  const store =
    spec.kind === 'memory'
      ? (await import('@vel/store')).createMemoryStore()
      : spec.kind === 'sqlite'
        ? (await import('@vel/store/sqlite')).createSqliteStore({ filename: spec.filename })
        : (await import('@vel/store/postgres')).createPostgresStore({
            connectionString: spec.connectionString,
          })
  await store.migrate()
  return store
}
