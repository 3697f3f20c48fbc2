/**
 * A process of its own for the SQLite store's start-up path test (`startup.test.ts`): records
 * every resolution of `kysely` from the start, opens the store on `filename` and prints what it
 * saw (STARTUP <json>). Mode `resume`: a migrated database with a run in it, used as a resuming
 * process uses it (migrate, list the unfinished runs, snapshot, journal, lease, session, an
 * append and the run's end); then the idempotency lookup and a delete, which go through Kysely.
 * Mode `fresh`: a new file, migrated from nothing, then a run created and listed.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const options = JSON.parse(process.argv[2] ?? '{}') as {
  mode: 'resume' | 'fresh'
  filename: string
  runId: string
  agentId: string
  sessionId: string
  idempotencyKey: string
}
const record = join(tmpdir(), `vel-store-startup-resolutions-${process.pid}`)
register(new URL('../../../test/support/resolve-recorder.mjs', import.meta.url), {
  data: { file: record, packages: ['kysely'] },
})
const resolved = (): number =>
  existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n').length : 0

const { createSqliteStore } = await import('../src/sqlite/index.ts')
const store = createSqliteStore({ filename: options.filename })
await store.migrate()
const seen: Record<string, unknown> = { afterMigrate: resolved() }
if (options.mode === 'resume') {
  const { runId, agentId, sessionId } = options
  const listed = await store.listRuns({ status: ['running', 'waiting'] }, { limit: 200 })
  const snapshot = await store.getSnapshot(runId)
  const entries = await store.read(runId, { afterSeq: snapshot?.seq ?? 0 })
  const lease = await store.acquireLease(runId, 'worker-b', 10_000)
  if (lease === undefined) throw new Error('no lease')
  const seq = await store.append(
    runId,
    [{ type: 'model.responded', data: { step: 3 } }],
    await store.lastSeq(runId),
    {
      lease,
      snapshot: { state: { step: 3 }, schemaVersion: 1 },
    },
  )
  const session = await store.getSession(sessionId)
  await store.appendSession(sessionId, [{ role: 'user', content: 'again' }], session?.version, { runId })
  await store.updateRun(runId, { status: 'completed', answer: 'done' })
  await store.releaseLease(lease)
  Object.assign(seen, {
    listed: listed.items.map((run) => run.runId),
    snapshotSeq: snapshot?.seq,
    replayed: entries.map((entry) => entry.seq),
    seq,
    status: (await store.getRun(runId))?.status,
    sessionMessages: (await store.getSession(sessionId))?.messages.length,
    running: (await store.listRuns({ agentId, status: 'running' })).items.length,
    resumePath: resolved(),
  })
  seen.found = (await store.findRunByIdempotencyKey(agentId, options.idempotencyKey))?.runId
  seen.afterLookup = resolved()
  await store.deleteRun(runId)
  seen.afterDelete = (await store.getRun(runId)) === undefined
} else {
  await store.createRun({ runId: options.runId, agentId: options.agentId })
  seen.listed = (await store.listRuns({ agentId: options.agentId })).items.map((run) => run.runId)
}
await store.close()
rmSync(record, { force: true })
process.stdout.write(`STARTUP ${JSON.stringify(seen)}\n`)
