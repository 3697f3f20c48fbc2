import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineTool, RunError, type Store } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

/*
 * Stored data damaged behind Vel's back (issue 15), on SQLite with raw SQL: every load checks the
 * snapshot against the journal, a bad snapshot is rebuilt from the journal, a gap or an event the
 * reducer rejects marks the run `corrupted` and no tool runs for it, and other runs go on.
 */

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'vel-corrupt-'))
  const filename = join(dir, 'runs.db')
  const store = createSqliteStore({ filename })
  await store.migrate()
  const sql = new Database(filename)
  const runs = { pay: 0 }
  const agent = () =>
    new Agent({
      id: 'payer',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? {
              text: `answer from ${request.messages.filter((message) => message.role === 'user').length} user message(s)`,
            }
          : { toolCalls: [{ id: 'pay_1', name: 'pay', input: { amount: 5 } }] },
      ),
      tools: [
        defineTool({
          name: 'pay',
          description: 'Pays (unsafe).',
          input: { type: 'object' },
          needsApproval: true,
          handler: () => {
            runs.pay += 1
            return 'paid'
          },
        }),
      ],
      policies: { retry: false },
    })
  const runtime = createRuntime({ store, agents: [agent()], leaseTtlMs: 50, onError: () => undefined })
  cleanups.push(async () => {
    await runtime.shutdown()
    sql.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  /** A run waiting for approval of `pay_1`, passivated (snapshot at seq 2). */
  const waitingRun = async (): Promise<string> => {
    const handle = await runtime.spawn('payer', 'pay 5')
    for (let tries = 0; (await store.getRun(handle.runId))?.status !== 'waiting'; tries++) {
      if (tries > 500) throw new Error('never waited')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return handle.runId
  }
  return { store, sql, runtime, runs, waitingRun }
}

/** Journal entries written as a worker that then died would have left them (index `running`). */
async function appendAsDeadWorker(store: Store, runId: string, events: unknown[]): Promise<void> {
  let seq = await store.lastSeq(runId)
  for (const event of events)
    seq = await store.append(runId, [{ type: (event as { type: string }).type, data: event as never }], seq)
  await store.updateRun(runId, { status: 'running' })
}

describe('corrupted stored data (SQLite)', () => {
  it('a snapshot past the journal is only a bad cache: the run is rebuilt from the journal and goes on', async () => {
    const { store, sql, runtime, runs, waitingRun } = await setup()
    const runId = await waitingRun()
    sql.prepare('UPDATE snapshots SET seq = 99 WHERE run_id = ?').run(runId)
    await runtime.approve(runId, 'pay_1')
    expect(await runtime.handle(runId).result).toBe('answer from 1 user message(s)')
    expect(runs.pay).toBe(1)
    expect((await store.getRun(runId))?.status).toBe('completed')
  })

  it('a snapshot whose message is a number is rebuilt from the journal, not sent to the model', async () => {
    const { store, sql, runtime, runs, waitingRun } = await setup()
    const runId = await waitingRun()
    sql
      .prepare("UPDATE snapshots SET state = json_set(state, '$.messages[0]', 42) WHERE run_id = ?")
      .run(runId)
    await runtime.approve(runId, 'pay_1')
    expect(await runtime.handle(runId).result).toBe('answer from 1 user message(s)')
    expect(runs.pay).toBe(1)
    expect((await store.getRun(runId))?.status).toBe('completed')
  })

  it('a gap in the journal marks the run corrupted and the unsafe tool never runs twice; other runs go on', async () => {
    const { store, sql, runtime, runs, waitingRun } = await setup()
    const bad = await waitingRun()
    const good = await waitingRun()
    // A worker approved and started the unsafe tool, then died; a journal row is then lost.
    await appendAsDeadWorker(store, bad, [
      { type: 'approval.decided', toolCallId: 'pay_1', approved: true },
      { type: 'tool.started', toolCallId: 'pay_1' },
    ])
    sql.prepare('DELETE FROM journal WHERE run_id = ? AND seq = 3').run(bad)
    await appendAsDeadWorker(store, good, [{ type: 'approval.decided', toolCallId: 'pay_1', approved: true }])
    await new Promise((resolve) => setTimeout(resolve, 60))
    const resumed = await runtime.recover()
    expect(resumed).toEqual([good])
    expect(await runtime.handle(good).result).toBe('answer from 1 user message(s)')
    const record = await store.getRun(bad)
    expect(record?.status).toBe('corrupted')
    expect(record?.error?.message).toMatch(/journal gap/)
    // Only the good run's tool ran; approving the corrupted one is refused with a typed error.
    expect(runs.pay).toBe(1)
    const refused = await runtime.approve(bad, 'pay_1').catch((error: unknown) => error)
    expect(RunError.isInstance(refused) && refused.reason).toBe('corrupted')
    expect(runs.pay).toBe(1)
  })

  it('an event the reducer rejects marks the run corrupted, with a typed error for the code waiting on it', async () => {
    const { store, runtime, runs, waitingRun } = await setup()
    const runId = await waitingRun()
    await appendAsDeadWorker(store, runId, [{ type: 'tool.succeeded', toolCallId: 'nobody', output: 1 }])
    await new Promise((resolve) => setTimeout(resolve, 60))
    await runtime.recover()
    const record = await store.getRun(runId)
    expect(record?.status).toBe('corrupted')
    expect(record?.error?.message).toMatch(/not a legal event/)
    await expect(runtime.handle(runId).result).rejects.toMatchObject({ reason: 'corrupted' })
    expect(runs.pay).toBe(0)
  })
})
