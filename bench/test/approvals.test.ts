/**
 * The approvals workload in quick form (no timing or memory assertions): runs left waiting for
 * approval out of memory are all found waiting with their one request, and every run approved at
 * random runs its tool and answers `sum=2`, on the memory store and on SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ApprovalsResult } from '../src/approvals.ts'
import { measure } from '../src/runner.ts'

const dir = mkdtempSync(join(tmpdir(), 'vel-bench-approvals-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('bench approvals workload (quick correctness, no timings)', () => {
  it('300 runs wait for approval; 30 approved at random each run their tool and answer', async () => {
    const results = await Promise.all(
      (['memory', 'sqlite'] as const).map((store) =>
        measure<ApprovalsResult>('approvals.ts', {
          store,
          dir,
          waiting: 300,
          approvals: 30,
          concurrency: 50,
          warmup: 10,
        }),
      ),
    )
    for (const result of results) {
      expect(result.waiting).toBe(300)
      expect(result.answered).toBe(30)
      expect(result.checkedWaiting).toBeGreaterThanOrEqual(30)
      expect(result.toNextStepMs.p50).toBeGreaterThan(0)
      expect(result.heap.totalMB).toBeGreaterThan(0)
    }
  })
})
