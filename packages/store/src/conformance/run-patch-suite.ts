import type { JournalEntryInput, RunPatch } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { expectStoreError, type Harness, roundTrip } from './harness.ts'

const event = (index: number): JournalEntryInput => ({ type: 'test.event', data: { index } })

const completed: RunPatch = { status: 'completed', answer: { text: 'done' }, error: null, pending: [] }

/** `append` with `run`: the index row patched with the entries, all or nothing (ADR 0117). */
export const runPatchSuite = (harness: () => Harness): void => {
  describe('append with a run patch', () => {
    it('applies the patch with the entries, keeping the fields it does not set', async () => {
      const { store, id, advance, context } = harness()
      const runId = id('run')
      const created = await store.createRun({ runId, agentId: 'agent', metadata: { who: 'alice' } })
      expect(await store.append(runId, [event(1)], 0)).toBe(1)
      advance(10)
      expect(await store.append(runId, [event(2), event(3)], 1, { run: completed })).toBe(3)
      const row = await store.getRun(runId)
      expect(row).toEqual({ ...created, ...completed, updatedAt: context.now() })
      expect(roundTrip(row)).toEqual(row)
      expect((await store.read(runId)).map((entry) => entry.data)).toEqual([
        { index: 1 },
        { index: 2 },
        { index: 3 },
      ])
      // One field only; JSON null is a value, not "keep".
      advance(5)
      expect(await store.append(runId, [event(4)], 3, { run: { answer: null } })).toBe(4)
      expect(await store.getRun(runId)).toEqual({
        ...created,
        ...completed,
        answer: null,
        updatedAt: context.now(),
      })
      expect(await store.append(runId, [event(5)], 4)).toBe(5)
      expect((await store.listRuns({ status: 'completed' })).items.map((run) => run.runId)).toContain(runId)
    })

    it('leaves the row and the journal unchanged when the append is refused', async () => {
      const { store, id, advance } = harness()
      const runId = id('run')
      await store.createRun({ runId, agentId: 'agent' })
      const first = await store.acquireLease(runId, 'w1', 1000)
      expect(await store.append(runId, [event(1)], 0, { lease: first! })).toBe(1)
      const before = await store.getRun(runId)
      advance(10)
      await expectStoreError(
        store.append(runId, [event(2)], 0, { lease: first!, run: completed }),
        'conflict',
      )
      await expectStoreError(store.append(runId, [event(2)], 0, { run: completed }), 'conflict')
      advance(1001)
      const second = await store.acquireLease(runId, 'w2', 1000)
      await expectStoreError(store.append(runId, [event(2)], 1, { lease: first!, run: completed }), 'fenced')
      await expectStoreError(
        store.append(runId, [event(2), event(3)], 1, { lease: first!, run: completed }),
        'fenced',
      )
      expect(await store.getRun(runId)).toEqual(before)
      expect(await store.lastSeq(runId)).toBe(1)
      expect(await store.append(runId, [event(2)], 1, { lease: second!, run: completed })).toBe(2)
      expect((await store.getRun(runId))?.status).toBe('completed')
    })

    it('fails with not-found and writes nothing for a run without an index row', async () => {
      const { store, id } = harness()
      const runId = id('run')
      await expectStoreError(store.append(runId, [event(1)], 0, { run: completed }), 'not-found')
      await expectStoreError(
        store.append(runId, [event(1)], 0, {
          run: completed,
          snapshot: { state: { a: 1 }, schemaVersion: 1 },
        }),
        'not-found',
      )
      expect(await store.lastSeq(runId)).toBe(0)
      expect(await store.getSnapshot(runId)).toBeUndefined()
      expect(await store.getRun(runId)).toBeUndefined()
    })

    it('refuses a bad patch with invalid-argument and writes nothing', async () => {
      const { store, id } = harness()
      const runId = id('run')
      await store.createRun({ runId, agentId: 'agent' })
      const before = await store.getRun(runId)
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const bad: unknown[] = [
        { status: 'finished' },
        { pending: 'none' },
        { metadata: [1] },
        { status: 'completed', answer: cyclic },
        { status: 'completed', answer: 1n },
      ]
      for (const run of bad) {
        await expectStoreError(
          store.append(runId, [event(1)], 0, { run: run as RunPatch }),
          'invalid-argument',
        )
        await expectStoreError(
          store.append(runId, [event(1)], 0, {
            run: run as RunPatch,
            snapshot: { state: { a: 1 }, schemaVersion: 1 },
          }),
          'invalid-argument',
        )
      }
      expect(await store.lastSeq(runId)).toBe(0)
      expect(await store.getSnapshot(runId)).toBeUndefined()
      expect(await store.getRun(runId)).toEqual(before)
    })

    it('goes with a snapshot and a lease in the same write, or none of them does', async () => {
      const { store, id, advance, context } = harness()
      const runId = id('run')
      await store.createRun({ runId, agentId: 'agent' })
      const lease = await store.acquireLease(runId, 'w1', 1000)
      const snapshot = { state: { step: 1 }, schemaVersion: 3 }
      expect(await store.append(runId, [event(1)], 0, { lease: lease!, snapshot })).toBe(1)
      advance(10)
      const failed: RunPatch = {
        status: 'failed',
        error: { tag: 'RunError', reason: 'model-failed', message: 'boom', retryable: false },
        pending: [],
      }
      const final = { state: { step: 2 }, schemaVersion: 3 }
      await expectStoreError(
        store.append(runId, [event(2)], 0, { lease: lease!, snapshot: final, run: failed }),
        'conflict',
      )
      expect(await store.getSnapshot(runId)).toMatchObject({ seq: 1, state: { step: 1 } })
      expect(await store.append(runId, [event(2)], 1, { lease: lease!, snapshot: final, run: failed })).toBe(
        2,
      )
      expect(await store.getSnapshot(runId)).toEqual({
        runId,
        seq: 2,
        state: { step: 2 },
        schemaVersion: 3,
        at: context.now(),
      })
      expect(await store.getRun(runId)).toMatchObject({ ...failed, answer: null, updatedAt: context.now() })
      expect((await store.read(runId)).map((entry) => entry.seq)).toEqual([1, 2])
    })
  })
}
