import type { JournalEntryInput, JsonValue } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { expectStoreError, type Harness, roundTrip } from './harness.ts'

const event = (index: number, data: JsonValue = { index }): JournalEntryInput => ({
  type: 'test.event',
  data,
})

/** Journal: ordering, optimistic appends, fencing, payloads and corruption. */
export const journalSuite = (harness: () => Harness): void => {
  describe('journal', () => {
    it('appends in order, numbering from 1 without gaps, and stamps entries with the clock', async () => {
      const { store, id, context } = harness()
      const runId = id('run')
      expect(await store.lastSeq(runId)).toBe(0)
      expect(await store.append(runId, [event(1), event(2)], 0)).toBe(2)
      expect(await store.append(runId, [{ type: 'other', data: 'x', at: 42 }], 2)).toBe(3)
      const entries = await store.read(runId)
      expect(entries).toEqual([
        { runId, seq: 1, type: 'test.event', at: context.now(), data: { index: 1 } },
        { runId, seq: 2, type: 'test.event', at: context.now(), data: { index: 2 } },
        { runId, seq: 3, type: 'other', at: 42, data: 'x' },
      ])
      expect(await store.lastSeq(runId)).toBe(3)
      expect(roundTrip(entries)).toEqual(entries)
    })

    it("keeps each entry's type, whether or not its data names the same one", async () => {
      const { store, id } = harness()
      const runId = id('run')
      const entries: JournalEntryInput[] = [
        { type: 'model.responded', data: { type: 'model.responded', n: 1 } },
        { type: 'tool.succeeded', data: { type: 'tool.failed' } },
        { type: 'x', data: { type: 1 } },
        { type: 'y', data: ['y'] },
        { type: 'z', data: null },
        { type: 'w', data: { type: '' } },
      ]
      await store.append(runId, entries.slice(0, 1), 0)
      await store.append(runId, entries.slice(1), 1)
      const read = await store.read(runId)
      expect(read.map(({ type, data }) => ({ type, data }))).toEqual(entries)
    })

    it('reads after a seq and up to a limit', async () => {
      const { store, id } = harness()
      const runId = id('run')
      await store.append(
        runId,
        Array.from({ length: 10 }, (_, index) => event(index + 1)),
        0,
      )
      const seqs = async (options: { afterSeq?: number; limit?: number }) =>
        (await store.read(runId, options)).map((entry) => entry.seq)
      expect(await seqs({ afterSeq: 7 })).toEqual([8, 9, 10])
      expect(await seqs({ limit: 3 })).toEqual([1, 2, 3])
      expect(await seqs({ afterSeq: 4, limit: 2 })).toEqual([5, 6])
      expect(await seqs({ afterSeq: 10 })).toEqual([])
      expect(await store.read(id('unknown'))).toEqual([])
    })

    it('keeps runs apart', async () => {
      const { store, id } = harness()
      const [a, b] = [id('run'), id('run')]
      await store.append(a, [event(1), event(2)], 0)
      await store.append(b, [event(9)], 0)
      expect((await store.read(b)).map((entry) => entry.data)).toEqual([{ index: 9 }])
      expect(await store.lastSeq(a)).toBe(2)
    })

    it('rejects a stale or future expectedSeq with conflict and writes nothing', async () => {
      const { store, id } = harness()
      const runId = id('run')
      await store.append(runId, [event(1), event(2)], 0)
      await expectStoreError(store.append(runId, [event(3), event(4)], 1), 'conflict')
      await expectStoreError(store.append(runId, [event(3)], 5), 'conflict')
      await expectStoreError(store.append(runId, [event(3)], 0), 'conflict')
      expect((await store.read(runId)).map((entry) => entry.seq)).toEqual([1, 2])
    })

    it('writes nothing of a batch with an entry that is not JSON', async () => {
      const { store, id } = harness()
      const runId = id('run')
      const bad = { type: 'bad', data: { big: 1n } as unknown as JsonValue }
      await expectStoreError(store.append(runId, [event(1), bad], 0), 'invalid-argument')
      await expectStoreError(store.append(runId, [{ type: '', data: null }], 0), 'invalid-argument')
      await expectStoreError(store.append(runId, [event(1)], -1), 'invalid-argument')
      expect(await store.lastSeq(runId)).toBe(0)
    })

    it('lets exactly one of two connections win a race for the same seq', async () => {
      const { store, id, connect } = harness()
      const other = await connect()
      const runId = id('run')
      for (let round = 0; round < 10; round++) {
        const expected = await store.lastSeq(runId)
        const outcomes = await Promise.allSettled([
          store.append(
            runId,
            [
              { type: 'a', data: round },
              { type: 'a', data: round },
            ],
            expected,
          ),
          other.append(runId, [{ type: 'b', data: round }], expected),
        ])
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled')
        expect(won).toHaveLength(1)
        const lost = outcomes.find((outcome) => outcome.status === 'rejected')
        expect(lost?.status === 'rejected' && lost.reason).toMatchObject({ reason: 'conflict' })
      }
      const entries = await other.read(runId)
      expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1))
      // Each round's entries come from one writer only.
      for (let round = 0; round < 10; round++) {
        const types = new Set(entries.filter((entry) => entry.data === round).map((entry) => entry.type))
        expect(types.size).toBe(1)
      }
    })

    it('fences an append whose lease is not the current one', async () => {
      const { store, id, advance } = harness()
      const runId = id('run')
      await expectStoreError(
        store.append(runId, [event(1)], 0, { lease: { ownerId: 'w1', epoch: 1 } }),
        'fenced',
      )
      const first = await store.acquireLease(runId, 'w1', 1000)
      expect(first).toBeDefined()
      expect(await store.append(runId, [event(1)], 0, { lease: first! })).toBe(1)
      advance(1001)
      // Expired but not taken over: nobody else can have written, so the epoch still counts.
      expect(await store.getLease(runId)).toBeUndefined()
      expect(await store.append(runId, [event(2)], 1, { lease: first! })).toBe(2)
      const second = await store.acquireLease(runId, 'w2', 1000)
      expect(second?.epoch).toBe(first!.epoch + 1)
      await expectStoreError(store.append(runId, [event(3)], 2, { lease: first! }), 'fenced')
      await expectStoreError(
        store.append(runId, [event(3)], 2, { lease: { ...second!, epoch: first!.epoch } }),
        'fenced',
      )
      await expectStoreError(store.append(runId, [event(3), event(4)], 2, { lease: first! }), 'fenced')
      expect(await store.append(runId, [event(3)], 2, { lease: second! })).toBe(3)
      expect(await store.append(runId, [event(4), event(5)], 3, { lease: second! })).toBe(5)
      await store.releaseLease(second!)
      await expectStoreError(store.append(runId, [event(6)], 5, { lease: second! }), 'fenced')
      expect(await store.lastSeq(runId)).toBe(5)
    })

    it('round-trips a 1 MB payload and unicode exactly', async () => {
      const { store, id } = harness()
      const runId = id('run')
      const big = 'x'.repeat(1024 * 1024)
      const unicode = {
        text: 'héllo wörld, 日本語, עברית, emoji 🧪👩‍🔬, nul \u0000, lone \ud800, bom \ufeff',
        'ключ 🔑': ['\n\t"\\', 1.5, -0.25, 1e21, true, null],
      }
      await store.append(
        runId,
        [
          { type: 'big', data: big },
          { type: 'unicode ✓', data: unicode },
        ],
        0,
      )
      const [first, second] = await store.read(runId)
      expect(first?.data).toBe(big)
      expect(second?.type).toBe('unicode ✓')
      expect(second?.data).toEqual(unicode)
    })

    it('fails with closed after close', async () => {
      const { connect, id } = harness()
      const store = await connect()
      await store.close()
      await expectStoreError(store.append(id('run'), [event(1)], 0), 'closed')
      await expectStoreError(store.lastSeq(id('run')), 'closed')
      await expectStoreError(store.getRun(id('run')), 'closed')
    })

    it('reports an unparsable journal row as corrupted, naming run and seq, and keeps the rest', async (test) => {
      const { store, id, corrupt } = harness()
      if (corrupt === undefined) return test.skip()
      const [runId, otherRun] = [id('run'), id('run')]
      await store.append(runId, [event(1), event(2), event(3)], 0)
      await store.append(otherRun, [event(1)], 0)
      await corrupt({ kind: 'journal', id: runId, seq: 2 })
      const error = await expectStoreError(store.read(runId), 'corrupted')
      expect(error.message).toContain(runId)
      expect(error.message).toContain('#2')
      expect((await store.read(runId, { afterSeq: 2 })).map((entry) => entry.data)).toEqual([{ index: 3 }])
      expect((await store.read(runId, { limit: 1 })).map((entry) => entry.seq)).toEqual([1])
      expect(await store.read(otherRun)).toHaveLength(1)
      expect(await store.lastSeq(runId)).toBe(3)
      expect(await store.append(runId, [event(4)], 3)).toBe(4)
    })
  })
}
