import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { printed, startWorker } from '../../../test/support/child-process.ts'
import { createSqliteStore } from '../src/sqlite/index.ts'

const directory = mkdtempSync(join(tmpdir(), 'vel-store-startup-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
const worker = fileURLToPath(new URL('./startup-worker.ts', import.meta.url))

/** What `startup-worker.ts` printed, run in a process of its own. */
const startup = async (options: object): Promise<Record<string, unknown>> =>
  printed<Record<string, unknown>>(await startWorker(worker, options).output, 'STARTUP')

describe('what the SQLite store loads', () => {
  it('opens a migrated database and serves a resuming run without loading Kysely; loads it for a lookup', {
    timeout: 60_000,
  }, async () => {
    const filename = join(directory, 'resume.db')
    const [runId, agentId, sessionId, idempotencyKey] = ['run-1', 'agent-1', 'session-1', 'key-1']
    const store = createSqliteStore({ filename })
    await store.migrate()
    await store.createRun({ runId, agentId, sessionId, idempotencyKey })
    await store.append(
      runId,
      [
        { type: 'run.started', data: { step: 0 } },
        { type: 'model.responded', data: { step: 1 } },
      ],
      0,
    )
    await store.putSnapshot(runId, 1, { step: 1 }, 1)
    await store.appendSession(sessionId, [{ role: 'user', content: 'hello' }])
    await store.close()

    const seen = await startup({ mode: 'resume', filename, runId, agentId, sessionId, idempotencyKey })
    expect(seen).toMatchObject({
      afterMigrate: 0,
      listed: [runId],
      snapshotSeq: 1,
      replayed: [2],
      seq: 3,
      status: 'completed',
      sessionMessages: 2,
      running: 0,
      resumePath: 0,
      found: runId,
      afterDelete: true,
    })
    expect(seen.afterLookup).toBeGreaterThan(0)
  })

  it('migrates a new database through Kysely and works after', { timeout: 60_000 }, async () => {
    const seen = await startup({
      mode: 'fresh',
      filename: join(directory, 'fresh.db'),
      runId: 'r',
      agentId: 'a',
    })
    expect(seen.afterMigrate).toBeGreaterThan(0)
    expect(seen.listed).toEqual(['r'])
  })
})
