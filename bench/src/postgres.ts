/**
 * Vel's Postgres store under the benchmark: a database of its own (created here, dropped on
 * close) and a pool whose clients count their queries. A pg query is one round trip (the
 * extended protocol sends parse, bind, execute and sync together and waits once), so the counts
 * are round trips; `begin` and `commit` count as theirs.
 */
import { randomBytes } from 'node:crypto'
import type { Store } from '@vel/core'
import { createPostgresStore } from '@vel/store/postgres'
import pg from 'pg'

/** The server the bench uses (the integration tests' default). */
export const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Why Postgres cannot be benchmarked (unreachable, refused), or undefined when it can. */
export async function postgresUnavailable(url: string = postgresUrl): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (error) {
    return `Postgres at ${url} is unreachable (${error instanceof Error ? error.message : String(error)})`
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Round trips counted so far: all of them, and those made while a journal append was in flight. */
export interface RoundTrips {
  readonly total: number
  readonly appends: number
  readonly duringAppends: number
}

export interface BenchPostgres {
  readonly store: Store
  /** The database created for this store (dropped by `close`). */
  readonly database: string
  roundTrips(): RoundTrips
  /** The database's size on disk (`pg_database_size`). */
  databaseBytes(): Promise<number>
  /** Closes the store and drops its database. */
  close(): Promise<void>
}

const withAdmin = async <T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await body(client)
  } finally {
    await client.end()
  }
}

/** A Postgres store on a fresh database `vel_bench_<pid>_<random>` of the server at `url`. */
export async function createBenchPostgres(url: string = postgresUrl): Promise<BenchPostgres> {
  const database = `vel_bench_${process.pid}_${randomBytes(4).toString('hex')}`
  await withAdmin(url, (admin) => admin.query(`create database ${database}`))
  const target = new URL(url)
  target.pathname = `/${database}`
  const pool = new pg.Pool({ connectionString: target.toString(), max: 10 })
  pool.on('error', () => undefined)
  let total = 0
  let appends = 0
  let duringAppends = 0
  let appending = 0
  const counted = new WeakSet<object>()
  const connect = pool.connect.bind(pool)
  // Every client the store checks out counts its queries (a client is counted once, however
  // often it returns to the pool).
  const countingPool = {
    async connect() {
      const client = await connect()
      if (!counted.has(client)) {
        counted.add(client)
        const query = client.query.bind(client) as (...args: unknown[]) => unknown
        ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
          total++
          if (appending > 0) duringAppends++
          return query(...args)
        }
      }
      return client
    },
    // The store leaves a pool it was given open; close() below ends it.
    end: async () => undefined,
  }
  const inner = createPostgresStore({ pool: countingPool })
  await inner.migrate()
  const store: Store = {
    ...inner,
    async append(...args) {
      appends++
      appending++
      try {
        return await inner.append(...args)
      } finally {
        appending--
      }
    },
  }
  return {
    store,
    database,
    roundTrips: () => ({ total, appends, duringAppends }),
    databaseBytes: async () => {
      const result = await pool.query<{ size: string }>('select pg_database_size(current_database()) as size')
      return Number(result.rows[0]?.size ?? 0)
    },
    async close() {
      await inner.close()
      await pool.end()
      await withAdmin(url, (admin) => admin.query(`drop database if exists ${database} with (force)`))
    },
  }
}
