import { decodeRunState, type JsonValue } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { type DescribeStoreOptions, expectStoreError, type Harness, roundTrip } from './harness.ts'

const events = (count: number) =>
  Array.from({ length: count }, (_, index) => ({ type: 'e', data: index + 1 }))

/** Snapshots: latest wins, pruning only what a snapshot covers, fixtures of old schema versions. */
export const snapshotSuite = (harness: () => Harness, options: DescribeStoreOptions): void => {
  describe('snapshots', () => {
    it('keeps the snapshot with the highest seq', async () => {
      const { store, id, context, advance } = harness()
      const runId = id('run')
      await store.append(runId, events(10), 0)
      expect(await store.getSnapshot(runId)).toBeUndefined()
      await store.putSnapshot(runId, 2, { at: 2 }, 1)
      advance(5)
      await store.putSnapshot(runId, 5, { at: 5 }, 1)
      await store.putSnapshot(runId, 3, { at: 3 }, 1)
      const snapshot = await store.getSnapshot(runId)
      expect(snapshot).toEqual({ runId, seq: 5, state: { at: 5 }, schemaVersion: 1, at: context.now() })
      expect(roundTrip(snapshot)).toEqual(snapshot)
      await store.putSnapshot(runId, 5, { at: 'again' }, 2)
      expect(await store.getSnapshot(runId)).toMatchObject({
        seq: 5,
        state: { at: 'again' },
        schemaVersion: 2,
      })
    })

    it('stores a snapshot at the new last seq together with the appended entries', async () => {
      const { store, id, context, advance } = harness()
      const runId = id('run')
      expect(
        await store.append(runId, events(3), 0, { snapshot: { state: { upTo: 3 }, schemaVersion: 1 } }),
      ).toBe(3)
      expect(await store.getSnapshot(runId)).toEqual({
        runId,
        seq: 3,
        state: { upTo: 3 },
        schemaVersion: 1,
        at: context.now(),
      })
      advance(7)
      const lease = await store.acquireLease(runId, 'worker', 60_000)
      if (lease === undefined) throw new Error('no lease')
      const state = { upTo: 4, text: 'ünïcode 🛠', nested: [{ a: null }] }
      expect(await store.append(runId, events(1), 3, { lease, snapshot: { state, schemaVersion: 2 } })).toBe(
        4,
      )
      expect(await store.getSnapshot(runId)).toEqual({
        runId,
        seq: 4,
        state,
        schemaVersion: 2,
        at: context.now(),
      })
      // With no entries, the snapshot lands at the current head.
      expect(await store.append(runId, [], 4, { snapshot: { state: { again: 4 }, schemaVersion: 2 } })).toBe(
        4,
      )
      expect(await store.getSnapshot(runId)).toMatchObject({ seq: 4, state: { again: 4 } })
      expect((await store.read(runId)).map((entry) => entry.seq)).toEqual([1, 2, 3, 4])
    })

    it('writes neither entries nor snapshot when an append with a snapshot fails', async () => {
      const { store, id, connect, advance } = harness()
      const runId = id('run')
      const lease = await store.acquireLease(runId, 'old', 1)
      if (lease === undefined) throw new Error('no lease')
      await store.append(runId, events(2), 0, { snapshot: { state: { upTo: 2 }, schemaVersion: 1 } })
      const kept = await store.getSnapshot(runId)
      const snapshot = { state: { upTo: 3 }, schemaVersion: 1 }
      await expectStoreError(store.append(runId, events(1), 1, { snapshot }), 'conflict')
      await expectStoreError(store.append(runId, events(1), 3, { snapshot }), 'conflict')
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      await expectStoreError(
        store.append(runId, events(1), 2, { snapshot: { state: cyclic as never, schemaVersion: 1 } }),
        'invalid-argument',
      )
      await expectStoreError(
        store.append(runId, events(1), 2, { snapshot: { state: {}, schemaVersion: -1 } }),
        'invalid-argument',
      )
      await expectStoreError(
        store.append(runId, [{ type: 'e', data: 1n as never }], 2, { snapshot }),
        'invalid-argument',
      )
      // Another owner takes the lease: the old owner's append with a snapshot is fenced.
      const other = await connect()
      advance(10)
      expect(await other.acquireLease(runId, 'new', 60_000)).toMatchObject({ epoch: lease.epoch + 1 })
      await expectStoreError(store.append(runId, events(1), 2, { lease, snapshot }), 'fenced')
      expect(await other.lastSeq(runId)).toBe(2)
      expect(await other.getSnapshot(runId)).toEqual(kept)
    })

    it('keeps the snapshot of the one writer that wins a race for the same seq', async () => {
      const { store, id, connect } = harness()
      const other = await connect()
      const runId = id('run')
      for (let round = 0; round < 5; round++) {
        const expected = await store.lastSeq(runId)
        const outcomes = await Promise.allSettled([
          store.append(runId, events(2), expected, {
            snapshot: { state: { by: 'a', round }, schemaVersion: 1 },
          }),
          other.append(runId, events(1), expected, {
            snapshot: { state: { by: 'b', round }, schemaVersion: 1 },
          }),
        ])
        const won = outcomes.findIndex((outcome) => outcome.status === 'fulfilled')
        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
        const head = await other.lastSeq(runId)
        expect(await other.getSnapshot(runId)).toMatchObject({
          seq: head,
          state: { by: won === 0 ? 'a' : 'b', round },
        })
      }
    })

    it('rejects a snapshot past the end of the journal', async () => {
      const { store, id } = harness()
      const runId = id('run')
      await store.append(runId, events(2), 0)
      await expectStoreError(store.putSnapshot(runId, 3, {}, 1), 'invalid-argument')
      expect(await store.getSnapshot(runId)).toBeUndefined()
    })

    it('prunes only entries a snapshot covers and never restarts seq numbering', async () => {
      const { store, id } = harness()
      const runId = id('run')
      await store.append(runId, events(10), 0)
      expect(await store.pruneJournal(runId, 8)).toBe(0)
      await store.putSnapshot(runId, 5, { upTo: 5 }, 1)
      expect(await store.pruneJournal(runId, 8)).toBe(5)
      expect((await store.read(runId)).map((entry) => entry.seq)).toEqual([6, 7, 8, 9, 10])
      expect(await store.pruneJournal(runId, 5)).toBe(0)
      await store.putSnapshot(runId, 10, { upTo: 10 }, 1)
      // The head entry is kept so the next append still continues at 11.
      expect(await store.pruneJournal(runId, 10)).toBe(4)
      expect(await store.lastSeq(runId)).toBe(10)
      await expectStoreError(store.append(runId, events(1), 0), 'conflict')
      expect(await store.append(runId, events(1), 10)).toBe(11)
      expect((await store.read(runId)).map((entry) => entry.seq)).toEqual([10, 11])
    })

    it('reports an unparsable snapshot as corrupted, naming run and seq', async (test) => {
      const { store, id, corrupt } = harness()
      if (corrupt === undefined) return test.skip()
      const runId = id('run')
      await store.append(runId, events(4), 0)
      await store.putSnapshot(runId, 4, { ok: true }, 1)
      await corrupt({ kind: 'snapshot', id: runId, seq: 4 })
      const error = await expectStoreError(store.getSnapshot(runId), 'corrupted')
      expect(error.message).toContain(runId)
      expect(error.message).toContain('#4')
      expect(await store.read(runId)).toHaveLength(4)
      await store.putSnapshot(runId, 4, { ok: 'again' }, 1)
      expect((await store.getSnapshot(runId))?.state).toEqual({ ok: 'again' })
    })

    for (const fixture of options.fixtures ?? []) {
      it(`loads the ${fixture.name} fixture (schema version ${fixture.schemaVersion})`, async () => {
        const { store, id } = harness()
        const runId = id('run')
        await store.append(runId, events(3), 0)
        await store.putSnapshot(runId, 3, fixture.state as JsonValue, fixture.schemaVersion)
        const snapshot = await store.getSnapshot(runId)
        expect(snapshot?.state).toEqual(fixture.state)
        expect(snapshot?.schemaVersion).toBe(fixture.schemaVersion)
        const state = decodeRunState(snapshot?.state, snapshot?.schemaVersion)
        expect(state.runId).toBe((fixture.state as { runId: string }).runId)
      })
    }
  })
}
