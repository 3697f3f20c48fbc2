import { StoreError } from '@vel/core'

const sqliteConflicts = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE'])
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'EAI_AGAIN',
])

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Maps any error from a driver (better-sqlite3, pg, the network) to a `StoreError`: unique
 * violations are `conflict`, lost connections and locks `unavailable`, a damaged file `corrupted`.
 * A `StoreError` passes through unchanged.
 */
export function toStoreError(error: unknown, action: string): StoreError {
  if (StoreError.isInstance(error)) return error
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  const text = describe(error)
  const fail = (reason: ConstructorParameters<typeof StoreError>[0], why: string, retryable?: boolean) =>
    new StoreError(reason, `${action}: ${why}: ${text}`, {
      cause: error,
      ...(retryable === undefined ? {} : { retryable }),
    })
  if (typeof code === 'string') {
    if (sqliteConflicts.has(code) || code === '23505') return fail('conflict', 'already exists')
    if (code === '40001' || code === '40P01') return fail('conflict', 'concurrent update', true)
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      return fail('unavailable', 'database is locked')
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
      return fail('corrupted', 'database file is damaged')
    if (/^SQLITE_(CANTOPEN|IOERR|FULL|READONLY)/.test(code))
      return fail('unavailable', 'database file unusable')
    if (networkCodes.has(code) || code.startsWith('08') || code.startsWith('57P') || code === '53300')
      return fail('unavailable', 'cannot reach the database')
    if (code === '42P01' || code === '3F000' || (code === 'SQLITE_ERROR' && /no such table/.test(text)))
      return fail('unavailable', 'schema missing (call migrate())', false)
    if (code === '3D000' || code.startsWith('28'))
      return fail('unavailable', 'cannot use the database', false)
    if (code.startsWith('22')) return fail('invalid-argument', 'value rejected by the database')
  }
  if (
    /connection is not open|after calling end on the pool|pool is ended|driver has already been destroyed/i.test(
      text,
    )
  )
    return fail('closed', 'the connection is closed')
  if (
    /Connection terminated|not queryable|timeout exceeded when trying to connect|Cannot open database/i.test(
      text,
    )
  )
    return fail('unavailable', 'cannot reach the database')
  return fail('unavailable', 'database error', false)
}
