import pg from 'pg'

/** The Postgres server integration tests use. */
export const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Whether a missing service must fail the run (CI sets `VEL_REQUIRE_SERVICES=1`). */
export const servicesRequired = process.env.VEL_REQUIRE_SERVICES === '1'

/**
 * Probes a service once. Unreachable: throws when services are required (the test file fails
 * loudly), otherwise prints why the tests skip and returns false.
 */
export async function probeService(name: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe()
    return true
  } catch (error) {
    const why = `${name} is unreachable (${error instanceof Error ? error.message : String(error)})`
    if (servicesRequired) throw new Error(`${why}, and VEL_REQUIRE_SERVICES=1 requires it`)
    console.warn(`[skip] ${why}: skipping its integration tests (set VEL_REQUIRE_SERVICES=1 to fail instead)`)
    return false
  }
}

/** Probes the Postgres server at `url` with a 3 s connection timeout. */
export const probePostgres = (url: string = postgresUrl): Promise<boolean> =>
  probeService(`Postgres at ${url}`, async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
    try {
      await client.connect()
      await client.query('select 1')
    } finally {
      await client.end().catch(() => undefined)
    }
  })
