import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { comparePositions, formatPosition, type PartPosition } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { natsUrl, probeNats, startWorker, type TestWorker, uniquePrefix } from './support.ts'

const available = await probeNats()
const run = promisify(execFile)

describe.skipIf(!available)('a client in another language (Python over the raw NATS protocol)', () => {
  const prefix = uniquePrefix('python')
  const store = createMemoryStore()
  let worker: TestWorker

  beforeAll(async () => {
    await store.migrate()
    worker = await startWorker({ store, prefix })
  })
  afterAll(async () => {
    await worker?.close()
  })

  it('triggers a run, reads its parts with sequence headers, approves, and the run completes', async () => {
    const url = new URL(natsUrl)
    const { stdout } = await run(
      'python3',
      [
        join(import.meta.dirname, 'python', 'vel_client.py'),
        url.hostname,
        url.port || '4222',
        prefix,
        'payer',
        'py-run-1',
        'pay please',
      ],
      { timeout: 20_000 },
    )
    const summary = JSON.parse(stdout) as {
      runId: string
      types: string[]
      positions: PartPosition[]
      headers: string[]
      approved: string[]
      replies: unknown[]
    }
    expect(summary.runId).toBe('py-run-1')
    expect(summary.approved).toEqual(['pay_1'])
    expect(summary.replies).toEqual([{ ok: true }])
    expect(summary.types[0]).toBe('start')
    expect(summary.types).toContain('tool-approval-request')
    expect(summary.types).toContain('tool-output-available')
    expect(summary.types.at(-1)).toBe('finish')
    // Positions are durable: they keep growing across the run's rehydration after the approval.
    summary.positions.forEach((position, index) => {
      expect(summary.headers[index]).toBe(formatPosition(position))
      const before = summary.positions[index - 1]
      if (before) expect(comparePositions(before, position)).toBeLessThan(0)
    })
    const record = await store.getRun('py-run-1')
    expect(record).toMatchObject({ status: 'completed', answer: 'paid:receipt-500' })
  })
})
