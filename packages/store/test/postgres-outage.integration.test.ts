import { randomBytes } from 'node:crypto'
import { type Store, StoreError } from '@vel/core'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createPostgresStore } from '../src/postgres/index.ts'
import { createPostgresScratch } from './postgres-scratch.ts'
import { probePostgres } from './services.ts'
import { startTcpProxy } from './tcp-proxy.ts'

const reachable = await probePostgres()
const scratch = createPostgresScratch('outage', reachable)

/** Errors nobody handled while a test ran (vitest reports them too; this pins them to the test). */
let uncaught: unknown[] = []
const record = (error: unknown) => uncaught.push(error)
beforeEach(() => {
  uncaught = []
  process.on('uncaughtException', record)
})
afterEach(() => {
  process.off('uncaughtException', record)
})

/** Settles promises that must each reject with `StoreError('unavailable')`, retryable. */
const expectUnavailable = async (...promises: Promise<unknown>[]): Promise<void> =>
  expectAllUnavailable(Promise.allSettled(promises))

/** Checks settled outcomes: each must be a rejection with a retryable `StoreError('unavailable')`. */
const expectAllUnavailable = async (settled: Promise<PromiseSettledResult<unknown>[]>): Promise<void> => {
  for (const outcome of await settled) {
    if (outcome.status === 'fulfilled')
      throw new Error(`expected unavailable, got ${JSON.stringify(outcome.value)}`)
    const error: unknown = outcome.reason
    expect(StoreError.isInstance(error), `not a StoreError: ${String(error)}`).toBe(true)
    expect(error, String(error)).toMatchObject({ reason: 'unavailable', retryable: true })
  }
}

/** Retries `body` until it succeeds; every failure on the way must be a retryable `unavailable`. */
const eventually = async <T>(body: () => Promise<T>): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await body()
    } catch (error) {
      expect(error).toMatchObject({ _tag: 'StoreError', reason: 'unavailable', retryable: true })
      if (attempt === 20) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** Waits until `count` backends of the application wait on a lock. */
const waitForLockWaiters = async (applicationName: string, count: number): Promise<void> => {
  for (let attempt = 0; attempt < 500; attempt++) {
    const { rows } = await scratch.query(
      `select count(*)::int as waiting from pg_stat_activity
       where application_name = $1 and wait_event_type = 'Lock'`,
      [applicationName],
    )
    if (rows[0].waiting >= count) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${count} backend(s) of ${applicationName} never waited on a lock`)
}

/**
 * Waits until no backend of the application is left. A backend whose client vanished while it
 * waited on a lock goes on once the lock is released, finishes its statement and only then finds
 * the socket gone; until it exits, the outcome of that write is not settled on the server.
 */
const waitForBackendsGone = async (applicationName: string): Promise<void> => {
  for (let attempt = 0; attempt < 500; attempt++) {
    const { rows } = await scratch.query(
      'select count(*)::int as remaining from pg_stat_activity where application_name = $1',
      [applicationName],
    )
    if (rows[0].remaining === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`backends of ${applicationName} never went away`)
}

/**
 * Holds row locks on a run's lease and a session from another connection, so the store's next
 * append and session write wait inside the server (a checked-out client, one of them in a
 * transaction) until the test lets go.
 */
const holdLocks = async (schema: string, runId: string, sessionId: string) => {
  const client = new pg.Client({ connectionString: scratch.url })
  client.on('error', () => undefined)
  await client.connect()
  await client.query('begin')
  await client.query(`select 1 from ${schema}.leases where run_id = $1 for update`, [runId])
  await client.query(`select 1 from ${schema}.sessions where session_id = $1 for update`, [sessionId])
  return { release: () => client.query('rollback').finally(() => client.end()) }
}

/** Starts the two writes that will wait on the held locks; their outcomes are handled at once. */
const blockedWrites = (
  store: Store,
  runId: string,
  sessionId: string,
  lease: { ownerId: string; epoch: number },
) =>
  Promise.allSettled([
    store.append(runId, [{ type: 'e', data: 'blocked' }], 1, {
      lease,
      snapshot: { state: { s: 2 }, schemaVersion: 1 },
    }),
    store.appendSession(sessionId, [{ role: 'user', content: 'blocked' }], 1, { runId: 'r2' }),
  ])

/** The state every scenario starts from: one run with one entry and a lease, one session. */
const seed = async (store: Store, runId: string, sessionId: string) => {
  await store.migrate()
  const lease = await store.acquireLease(runId, 'worker', 600_000)
  if (lease === undefined) throw new Error('no lease')
  await store.append(runId, [{ type: 'e', data: 1 }], 0, { lease })
  await store.appendSession(sessionId, [{ role: 'user', content: 'first' }], 0, { runId: 'r1' })
  return lease
}

describe.skipIf(!reachable)('Postgres store when the database goes away', () => {
  it('turns terminated connections (busy and idle) into retryable unavailable errors and works again', async () => {
    const schema = scratch.another()
    const applicationName = `vel_outage_${randomBytes(4).toString('hex')}`
    const url = new URL(scratch.url)
    url.searchParams.set('application_name', applicationName)
    const store = createPostgresStore({ connectionString: url.href, schema, maxConnections: 3 })
    const [runId, sessionId] = ['run', 'session']
    const lease = await seed(store, runId, sessionId)
    const terminate = () =>
      scratch.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [
        applicationName,
      ])

    // Busy connections: both writes wait on locks when their backends are terminated.
    const locks = await holdLocks(schema, runId, sessionId)
    try {
      const writes = blockedWrites(store, runId, sessionId, lease)
      await waitForLockWaiters(applicationName, 2)
      await terminate()
      await expectAllUnavailable(writes)
    } finally {
      await locks.release()
    }

    // Nothing of the failed writes landed, and the store works again on fresh connections.
    expect(await eventually(() => store.lastSeq(runId))).toBe(1)
    expect(await store.getSnapshot(runId)).toBeUndefined()
    expect(await store.getSession(sessionId)).toMatchObject({ version: 1 })
    expect(await store.append(runId, [{ type: 'e', data: 2 }], 1, { lease })).toBe(2)

    // Idle pooled connections terminated between calls.
    await terminate()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await eventually(() => store.appendSession(sessionId, [{ role: 'user', content: 'x' }], 1))).toBe(
      2,
    )
    expect(await store.read(runId)).toHaveLength(2)
    await store.close()
    expect(uncaught).toEqual([])
  })

  it('turns an unreachable server into retryable unavailable errors and recovers when it is back', async () => {
    const schema = scratch.another()
    const target = new URL(scratch.url)
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432))
    const applicationName = `vel_outage_${randomBytes(4).toString('hex')}`
    const url = new URL(scratch.url)
    url.host = `127.0.0.1:${proxy.port}`
    url.searchParams.set('application_name', applicationName)
    const store = createPostgresStore({ connectionString: url.href, schema, maxConnections: 3 })
    const [runId, sessionId] = ['run', 'session']
    try {
      const lease = await seed(store, runId, sessionId)
      // In-flight writes lose their connections, then the server cannot be reached at all.
      const locks = await holdLocks(schema, runId, sessionId)
      try {
        const writes = blockedWrites(store, runId, sessionId, lease)
        await waitForLockWaiters(applicationName, 2)
        await proxy.cut()
        await expectAllUnavailable(writes)
      } finally {
        await locks.release()
      }
      await expectUnavailable(store.lastSeq(runId))
      await expectUnavailable(store.append(runId, [{ type: 'e', data: 2 }], 1, { lease }))
      await expectUnavailable(store.listRuns())
      // Settle the orphaned in-flight writes before the store may connect again.
      await waitForBackendsGone(applicationName)
      await proxy.restore()
      // The server may have finished the single-statement append after the client lost it (the
      // outcome of an in-flight write is unknown to the client); if so, its snapshot landed with it.
      const head = await eventually(() => store.lastSeq(runId))
      expect([1, 2]).toContain(head)
      expect(await store.getSnapshot(runId)).toEqual(
        head === 1 ? undefined : expect.objectContaining({ seq: 2, state: { s: 2 } }),
      )
      expect(await store.append(runId, [{ type: 'e', data: 3 }], head, { lease })).toBe(head + 1)
      // Writing the lost turn again lands it exactly once, whatever happened to the first try.
      expect(
        await store.appendSession(sessionId, [{ role: 'user', content: 'blocked' }], 1, { runId: 'r2' }),
      ).toBe(2)
      expect((await store.getSession(sessionId))?.messages).toHaveLength(2)
    } finally {
      await store.close()
      await proxy.close()
    }
    expect(uncaught).toEqual([])
  })
})
