/**
 * The NATS workloads in quick form (no timing assertions): a plain-NATS caller gets the first part
 * and the right answer of every run, on the memory and the Postgres store; with two worker
 * processes on one database every run runs exactly once and is stored as completed, and both
 * workers take a share. Skipped with a message when NATS or Postgres is unreachable, unless
 * `VEL_REQUIRE_SERVICES=1` (CI).
 */
import { describe, expect, it } from 'vitest'
import type { NatsLatencyResult } from '../src/nats-latency.ts'
import { probeServices } from '../src/nats-setup.ts'
import type { NatsThroughputResult } from '../src/nats-throughput.ts'
import { measure } from '../src/runner.ts'

const skipped = await probeServices({ nats: true, postgres: true })
if (skipped !== undefined)
  console.warn(
    `[skip] ${skipped}: skipping the NATS bench checks (set VEL_REQUIRE_SERVICES=1 to fail instead)`,
  )

describe.skipIf(skipped !== undefined)('bench NATS workloads (quick correctness, no timings)', () => {
  it('trigger to first part: every run streams its first part and answers sum=2, on memory and Postgres', async () => {
    const results = await Promise.all(
      (['memory', 'postgres'] as const).map((store) =>
        measure<NatsLatencyResult>('nats-latency.ts', { store, runs: 10, warmupRuns: 5, pings: 10 }),
      ),
    )
    for (const result of results) {
      expect(result.skipped).toBeUndefined()
      expect(result.checked).toBe(15)
      expect(result.firstPartMs.p50).toBeGreaterThan(0)
      expect(result.firstPartMs.p50).toBeLessThanOrEqual(result.finishMs.p50)
    }
  })

  it('two worker processes on one database: every run ran exactly once and is stored as completed', async () => {
    const result = await measure<NatsThroughputResult>('nats-throughput.ts', {
      workers: 2,
      runs: 60,
      warmupRuns: 10,
      concurrency: 20,
    })
    expect(result).toMatchObject({ workers: 2, duplicated: 0, missing: 0, completedInStore: 70 })
    expect(result.perWorker.reduce((sum, count) => sum + count, 0)).toBe(70)
    // The queue group spreads triggers over both processes.
    for (const count of result.perWorker) expect(count).toBeGreaterThan(0)
  })
})
