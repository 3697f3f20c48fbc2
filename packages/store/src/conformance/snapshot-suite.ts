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
