import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Store } from '@vel/core'
import { UsageError } from './usage-error.ts'

/** Where runs live, as parsed from `--store` (or `VEL_STORE`). */
export type StoreSpec =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly filename: string }
  | {
      readonly kind: 'postgres'
      /** The connection string without the `schema` parameter. */
      readonly connectionString: string
      /** The schema for Vel's tables (`?schema=name`); the store's default (`public`) when absent. */
      readonly schema?: string
    }

/** The store used when neither `--store` nor `VEL_STORE` is given. */
export const defaultStoreSpec = 'sqlite:./vel.db'

const schemaName = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** A Postgres spec: the connection string, with `?schema=name` taken out of it. */
function parsePostgres(spec: string, text: string): StoreSpec {
  // Only a spec with a schema is parsed here; pg reads the rest (host sockets and all) as before.
  if (!/[?&]schema=/.test(text)) return { kind: 'postgres', connectionString: text }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--store '${spec}' is not a valid postgres:// URL`)
  }
  const schemas = url.searchParams.getAll('schema')
  const schema = schemas[0] ?? ''
  if (schemas.length > 1 || !schemaName.test(schema))
    throw new UsageError(
      `--store '${spec}': schema must be one plain identifier (letters, digits, _ and $), e.g. ?schema=vel`,
    )
  url.searchParams.delete('schema')
  return { kind: 'postgres', connectionString: url.href, schema }
}

/**
 * Parses a store spec: `memory`, `sqlite:<path>` (a bare `*.db`/`*.sqlite` path also works) or a
 * `postgres://` / `postgresql://` connection string, optionally with `?schema=name` for the schema
 * of Vel's tables. Throws a `UsageError` for anything else.
 */
export function parseStoreSpec(spec: string): StoreSpec {
  const text = spec.trim()
  if (text === 'memory' || text === 'memory:') return { kind: 'memory' }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) return parsePostgres(spec, text)
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
  const url = spec.connectionString.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')
  return spec.schema === undefined ? url : `${url} (schema ${spec.schema})`
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
            ...(spec.schema === undefined ? {} : { schema: spec.schema }),
          })
  try {
    await store.migrate()
  } catch (error) {
    await store.close().catch(() => undefined)
    throw new Error(`could not open the store ${describeStore(spec)} (--store): ${reasonOf(error)}`)
  }
  return store
}

/** Why a connection failed, in a few words (a refused connection has an empty message). */
export const reasonOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  const message = error instanceof Error ? error.message : String(error)
  return message === '' && typeof code === 'string' ? code : message
}
