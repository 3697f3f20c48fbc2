import type { RunRecord, Store } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { expectStoreError, type Harness, roundTrip } from './harness.ts'

const collect = async (store: Store, filter: Parameters<Store['listRuns']>[0], limit: number) => {
  const pages: string[][] = []
  let cursor: string | undefined
  do {
    const page = await store.listRuns(filter, cursor === undefined ? { limit } : { cursor, limit })
    pages.push(page.items.map((run) => run.runId))
    cursor = page.nextCursor
  } while (cursor !== undefined && pages.length < 100)
  return pages
}

/** Runs index: creation, idempotency keys, updates, listing with cursors, deletion. */
export const runsSuite = (harness: () => Harness): void => {
  describe('runs', () => {
    it('creates a run with defaults and reads it back', async () => {
      const { store, id, context } = harness()
      const runId = id('run')
      const created = await store.createRun({ runId, agentId: 'agent' })
      const expected: RunRecord = {
        runId,
        agentId: 'agent',
        sessionId: null,
        parentRunId: null,
        idempotencyKey: null,
        status: 'running',
        pending: [],
        answer: null,
        error: null,
        metadata: {},
        createdAt: context.now(),
        updatedAt: context.now(),
      }
      expect(created).toEqual(expected)
      expect(await store.getRun(runId)).toEqual(expected)
      expect(roundTrip(created)).toEqual(created)
      expect(await store.getRun(id('missing'))).toBeUndefined()
    })

    it('rejects a duplicate run id or idempotency key with conflict', async () => {
      const { store, id } = harness()
      const [agentId, runId, key] = [id('agent'), id('run'), id('key')]
      await store.createRun({ runId, agentId, idempotencyKey: key, metadata: { who: 'alice' } })
      await expectStoreError(store.createRun({ runId, agentId: id('agent') }), 'conflict')
      const second = id('run')
      await expectStoreError(store.createRun({ runId: second, agentId, idempotencyKey: key }), 'conflict')
      expect(await store.getRun(second)).toBeUndefined()
      expect((await store.findRunByIdempotencyKey(agentId, key))?.runId).toBe(runId)
      expect((await store.findRunByIdempotencyKey(agentId, key))?.metadata).toEqual({ who: 'alice' })
      expect(await store.findRunByIdempotencyKey(agentId, id('key'))).toBeUndefined()
      const otherAgent = await store.createRun({
        runId: id('run'),
        agentId: id('agent'),
        idempotencyKey: key,
      })
      expect(otherAgent.idempotencyKey).toBe(key)
    })

    it('updates fields and the update time, and fails with not-found for a missing run', async () => {
      const { store, id, advance, context } = harness()
      const runId = id('run')
      await store.createRun({ runId, agentId: 'agent', sessionId: 's' })
      advance(10)
      const pending = [{ requestId: 'call-1', kind: 'approval', toolName: 'pay', input: { amount: 5 } }]
      const waiting = await store.updateRun(runId, { status: 'waiting', pending })
      expect(waiting).toMatchObject({ status: 'waiting', pending, sessionId: 's', updatedAt: context.now() })
      expect(waiting.createdAt).toBe(context.now() - 10)
      const error = { tag: 'RunError', reason: 'model-failed', message: 'boom', retryable: false }
      const failed = await store.updateRun(runId, {
        status: 'failed',
        pending: [],
        error,
        metadata: { a: 1 },
      })
      expect(await store.getRun(runId)).toEqual(failed)
      expect(failed).toMatchObject({ status: 'failed', pending: [], error, metadata: { a: 1 }, answer: null })
      const done = await store.updateRun(runId, { status: 'completed', answer: { text: 'ok' }, error: null })
      expect(roundTrip(done)).toEqual(done)
      expect(done.answer).toEqual({ text: 'ok' })
      await expectStoreError(store.updateRun(id('missing'), { status: 'completed' }), 'not-found')
    })

    it('lists newest first with filters and pages through every run exactly once', async () => {
      const { store, id, advance } = harness()
      const agentId = id('agent')
      const parent = id('run')
      const made: string[] = []
      for (let index = 0; index < 7; index++) {
        // Pairs share a creation time, so the runId order breaks ties.
        if (index % 2 === 0) advance(1)
        const runId = `${parent}-child-${index}`
        await store.createRun({
          runId,
          agentId,
          sessionId: index < 3 ? 'session-a' : 'session-b',
          parentRunId: index === 6 ? null : parent,
          status: index % 3 === 0 ? 'waiting' : 'running',
        })
        made.push(runId)
      }
      const all = await store.listRuns({ agentId })
      const expected = made
        .map((runId, index) => ({ runId, time: Math.floor(index / 2) }))
        .sort((a, b) => b.time - a.time || (a.runId < b.runId ? 1 : -1))
        .map((run) => run.runId)
      expect(all.items.map((run) => run.runId)).toEqual(expected)
      expect(all.nextCursor).toBeUndefined()
      const pages = await collect(store, { agentId }, 3)
      expect(pages.map((page) => page.length)).toEqual([3, 3, 1])
      expect(pages.flat()).toEqual(expected)
      expect((await collect(store, { agentId }, 7)).length).toBe(1)
      const waiting = await store.listRuns({ agentId, status: 'waiting' })
      expect(waiting.items.map((run) => run.runId).sort()).toEqual([made[0], made[3], made[6]].sort())
      const either = await store.listRuns({ agentId, status: ['waiting', 'running'] }, { limit: 100 })
      expect(either.items).toHaveLength(7)
      expect((await store.listRuns({ agentId, status: [] })).items).toEqual([])
      expect((await store.listRuns({ agentId, status: 'completed' })).items).toEqual([])
      const sessionA = await store.listRuns({ agentId, sessionId: 'session-a', status: 'running' })
      expect(sessionA.items.map((run) => run.runId).sort()).toEqual([made[1], made[2]].sort())
      const children = await store.listRuns({ parentRunId: parent })
      expect(children.items).toHaveLength(6)
      await expectStoreError(store.listRuns({ agentId }, { cursor: 'not a cursor' }), 'invalid-argument')
    })

    it('creates a run that claims its session only while no other run of it is unfinished', async () => {
      const { store, id } = harness()
      const [agentId, sessionId, other] = [id('agent'), id('session'), id('session')]
      const [first, refused, second, third] = [id('run'), id('run'), id('run'), id('run')]
      const created = await store.createRun({ runId: first, agentId, sessionId, claimSession: true })
      expect(created).not.toHaveProperty('claimSession')
      expect(await store.getRun(first)).toEqual(created)
      for (const status of ['running', 'waiting'] as const) {
        await store.updateRun(first, { status })
        await expectStoreError(
          store.createRun({ runId: refused, agentId, sessionId, metadata: { a: 1 }, claimSession: true }),
          'busy',
        )
        // Nothing of the refused run was written: not its row, nor its id.
        expect(await store.getRun(refused)).toBeUndefined()
        expect((await store.listRuns({ sessionId })).items.map((run) => run.runId)).toEqual([first])
      }
      // Another session, and a run that does not claim its session, are not refused.
      await store.createRun({ runId: id('run'), agentId, sessionId: other, claimSession: true })
      await store.createRun({ runId: second, agentId, sessionId })
      await store.updateRun(first, { status: 'completed' })
      await store.updateRun(second, { status: 'cancelled' })
      expect((await store.createRun({ runId: third, agentId, sessionId, claimSession: true })).runId).toBe(
        third,
      )
      await store.updateRun(third, { status: 'failed' })
      expect((await store.createRun({ runId: refused, agentId, sessionId, claimSession: true })).status).toBe(
        'running',
      )
      await expectStoreError(store.createRun({ runId: refused, agentId, claimSession: true }), 'conflict')
    })

    it.each([
      ['', undefined],
      [', each taking its lease in the same write', 1000],
    ])('lets at most one of two connections claim a free session at once%s', async (_, ttlMs) => {
      const { store, id, connect } = harness()
      const other = await connect()
      const [agentId, sessionId] = [id('agent'), id('session')]
      for (let round = 0; round < 5; round++) {
        const runIds = [id('run'), id('run')]
        const outcomes = await Promise.allSettled(
          [store, other].map((connection, index) =>
            connection.createRun({
              runId: runIds[index]!,
              agentId,
              sessionId,
              claimSession: true,
              ...(ttlMs === undefined ? {} : { lease: { ownerId: `w${index}`, ttlMs } }),
            }),
          ),
        )
        const created = outcomes.filter((outcome) => outcome.status === 'fulfilled')
        expect(created.length).toBeLessThanOrEqual(1)
        for (const outcome of outcomes)
          if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ reason: 'busy' })
        const unfinished = await store.listRuns({ sessionId, status: ['running', 'waiting'] })
        expect(unfinished.items).toHaveLength(created.length)
        // With a lease: the created run holds the lease it returned, a refused one holds none.
        if (ttlMs !== undefined)
          for (const [index, runId] of runIds.entries()) {
            const outcome = outcomes[index]!
            expect(await store.getLease(runId)).toEqual(
              outcome.status === 'fulfilled' ? outcome.value.lease : undefined,
            )
          }
        for (const run of unfinished.items) await store.updateRun(run.runId, { status: 'completed' })
      }
    })

    it('accepts the corrupted status in updates and filters', async () => {
      const { store, id } = harness()
      const [agentId, runId] = [id('agent'), id('run')]
      await store.createRun({ runId, agentId })
      await store.createRun({ runId: id('run'), agentId })
      const error = { tag: 'StoreError', reason: 'corrupted', message: 'gap at seq 3', retryable: false }
      expect(await store.updateRun(runId, { status: 'corrupted', error })).toMatchObject({
        status: 'corrupted',
        error,
      })
      const listed = await store.listRuns({ agentId, status: 'corrupted' })
      expect(listed.items.map((run) => run.runId)).toEqual([runId])
      expect(listed.items[0]?.error).toEqual(error)
      await expectStoreError(store.updateRun(runId, { status: 'broken' as never }), 'invalid-argument')
      await expectStoreError(store.listRuns({ status: 'broken' as never }), 'invalid-argument')
    })

    it('lists a run whose index row does not decode as corrupted, and every other run as usual', async (test) => {
      const { store, id, corrupt, advance } = harness()
      if (corrupt === undefined) return test.skip()
      const agentId = id('agent')
      const runs = [id('run'), id('run'), id('run')]
      for (const runId of runs) {
        advance(1)
        await store.createRun({ runId, agentId, sessionId: 'session', metadata: { runId } })
      }
      const [newer, bad, older] = [runs[2]!, runs[1]!, runs[0]!]
      await corrupt({ kind: 'run', id: bad, seq: 0 })
      const listed = await store.listRuns({ agentId })
      expect(listed.items.map((run) => run.runId)).toEqual([newer, bad, older])
      const broken = listed.items[1]!
      expect(broken).toMatchObject({ runId: bad, agentId, sessionId: 'session', status: 'corrupted' })
      expect(broken.error).toMatchObject({ tag: 'StoreError', reason: 'corrupted', retryable: false })
      expect(broken.error?.message).toContain(bad)
      expect(roundTrip(broken)).toEqual(broken)
      expect(await store.getRun(bad)).toEqual(broken)
      for (const runId of [newer, older])
        expect(await store.getRun(runId)).toMatchObject({
          status: 'running',
          metadata: { runId },
          error: null,
        })
      // A page boundary on the corrupted row still continues.
      const first = await store.listRuns({ agentId }, { limit: 2 })
      expect(first.items.map((run) => run.runId)).toEqual([newer, bad])
      const rest = await store.listRuns({ agentId }, { limit: 2, cursor: first.nextCursor! })
      expect(rest.items.map((run) => run.runId)).toEqual([older])
    })

    it('deletes a run with its journal, snapshot and lease, and touches nothing else', async () => {
      const { store, id } = harness()
      const agentId = id('agent')
      const [doomed, kept, sessionId] = [id('run'), id('run'), id('session')]
      for (const runId of [doomed, kept]) {
        await store.createRun({ runId, agentId, sessionId, idempotencyKey: `key-${runId}` })
        await store.append(
          runId,
          [
            { type: 'e', data: runId },
            { type: 'e', data: 2 },
          ],
          0,
        )
        await store.putSnapshot(runId, 2, { runId }, 1)
        await store.acquireLease(runId, 'worker', 60_000)
      }
      await store.appendSession(sessionId, [{ role: 'user', content: 'hi' }])
      await store.deleteRun(doomed)
      expect(await store.getRun(doomed)).toBeUndefined()
      expect(await store.read(doomed)).toEqual([])
      expect(await store.lastSeq(doomed)).toBe(0)
      expect(await store.getSnapshot(doomed)).toBeUndefined()
      expect(await store.getLease(doomed)).toBeUndefined()
      expect(await store.findRunByIdempotencyKey(agentId, `key-${doomed}`)).toBeUndefined()
      expect((await store.getRun(kept))?.runId).toBe(kept)
      expect(await store.read(kept)).toHaveLength(2)
      expect((await store.getSnapshot(kept))?.state).toEqual({ runId: kept })
      expect((await store.getLease(kept))?.ownerId).toBe('worker')
      expect((await store.getSession(sessionId))?.messages).toHaveLength(1)
      expect((await store.listRuns({ agentId })).items.map((run) => run.runId)).toEqual([kept])
      await store.deleteRun(doomed)
    })
  })
}
