/** The parts of a better-sqlite3 statement the store calls (typed structurally, Kysely-style). */
export interface SqliteStatement {
  run(...parameters: unknown[]): { changes: number }
  get(...parameters: unknown[]): unknown
  all(...parameters: unknown[]): unknown[]
  pluck(toggle?: boolean): this
}

/** The parts of a better-sqlite3 database the store calls. */
export interface SqliteConnection {
  prepare(source: string): SqliteStatement
  transaction<A extends unknown[], R>(body: (...args: A) => R): { immediate(...args: A): R }
  pragma(source: string, options?: { simple?: boolean }): unknown
  close(): unknown
  /** True while a transaction is open on the connection. */
  readonly inTransaction: boolean
}
