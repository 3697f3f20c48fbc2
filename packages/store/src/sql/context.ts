import type { Kysely } from 'kysely'
import type { Database } from './schema.ts'

/** What the shared SQL operations need from a dialect's store. */
export interface SqlContext {
  readonly db: Kysely<Database>
  readonly dialect: 'sqlite' | 'postgres'
  readonly now: () => number
  /**
   * Serializes journal data and session messages (default `encodeJson`; SQLite stores compact
   * text, see `encodeCompact`). Whatever it writes, `decodeJson` reads.
   */
  readonly encodeData?: (value: unknown, what: string) => string
  /** Runs `body` in one transaction (on SQLite, exclusive with the synchronous hot path). */
  readonly transaction: <T>(body: (trx: Kysely<Database>) => Promise<T>) => Promise<T>
}
