/**
 * The bench's Vel/Postgres configuration in quick form (no timing assertions): W1 and W2 answer
 * right on a database the child creates and drops, the round-trip counts come back, every
 * journal append is one round trip, and no database is left behind. Skips with a message when
 * the server is unreachable, unless VEL_REQUIRE_SERVICES=1.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresUnavailable, postgresUrl } from '../src/postgres.ts'
import { measure, type W1Result, type W2Result } from '../src/runner.ts'

const unavailable = await postgresUnavailable()
if (unavailable !== undefined) {
  if (process.env.VEL_REQUIRE_SERVICES === '1')
    throw new Error(`${unavailable}, and VEL_REQUIRE_SERVICES=1 requires it`)
  console.warn(
    `[skip] ${unavailable}: skipping the bench's Postgres checks (set VEL_REQUIRE_SERVICES=1 to fail instead)`,
  )
}

const dir = mkdtempSync(join(tmpdir(), 'vel-bench-pg-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const databaseExists = async (name: string): Promise<boolean> => {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    const result = await client.query('select 1 from pg_database where datname = $1', [name])
    return result.rowCount === 1
  } finally {
    await client.end()
  }
}

describe.skipIf(unavailable !== undefined)('bench on Postgres (quick correctness, no timings)', () => {
  it('W1 answers sum=K(K+1), counts round trips (one per append) and drops its database', async () => {
    const result = await measure<W1Result>('w1.ts', {
      runtime: 'vel',
      store: 'postgres',
      dir,
      ks: [5, 2],
      runs: 2,
      warmupSteps: 0,
      warmupMs: 0,
    })
    expect(result.checked).toBe(4)
    const trips = result.roundTrips?.['5']
    expect(trips?.perAppend).toBe(1)
    // A step journals the model's tool call with the tool's result in one append (ADR 0125), and
    // the run's final answer is one more; the run adds its own queries.
    expect(trips?.appendsPerStep).toBeGreaterThanOrEqual(1)
    expect(trips?.appendsPerStep).toBeLessThan(2)
    expect(trips?.perStep).toBeGreaterThan(trips?.appendsPerStep ?? Number.POSITIVE_INFINITY)
    expect(result.database).toMatch(/^vel_bench_/)
    expect(await databaseExists(result.database ?? '')).toBe(false)
  })

  it('W2: 50 sessions of K = 2, 10 at a time, all answered and holding their conversation', async () => {
    const result = await measure<W2Result>('w2.ts', {
      runtime: 'vel',
      store: 'postgres',
      dir,
      sessions: 50,
      concurrency: 10,
      warmupSessions: 0,
    })
    expect(result.checked).toBe(50)
    expect(result.sessionsVerified).toBe(4)
    expect(result.roundTripsPerRun).toBeGreaterThan(0)
    expect(result.dbMB).toBeGreaterThan(0)
  })
})
