import type { JournalEntryInput, Message, RunPatch } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { expectStoreError, type Harness, roundTrip } from './harness.ts'

const event = (index: number): JournalEntryInput => ({ type: 'test.event', data: { index } })
const user = (content: string): Message => ({ role: 'user', content })
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })

const completed: RunPatch = { status: 'completed', answer: 'done', error: null, pending: [] }

/** `append` with `session`: a run's turn written with its last entry, all or nothing (ADR 0127). */
export const sessionTurnSuite = (harness: () => Harness): void => {
  describe('append with a session turn', () => {
    it('appends the turn with the entries and the row, once per run', async () => {
      const { store, id, advance, context } = harness()
      const runId = id('run')
      const sessionId = id('session')
      await store.appendSession(sessionId, [user('earlier')])
      await store.createRun({ runId, agentId: 'agent', sessionId })
      expect(await store.append(runId, [event(1)], 0)).toBe(1)
      advance(10)
      const turn = [user('hi'), assistant('hello 🛠')]
      expect(
        await store.append(runId, [event(2)], 1, { run: completed, session: { sessionId, messages: turn } }),
      ).toBe(2)
      const session = await store.getSession(sessionId)
      expect(session).toEqual({
        sessionId,
        messages: [user('earlier'), ...turn],
        version: 2,
        updatedAt: context.now(),
      })
      expect(roundTrip(session)).toEqual(session)
      expect((await store.getRun(runId))?.status).toBe('completed')
      // The same run's turn again: the entries go in, the session stays as it is.
      expect(await store.append(runId, [event(3)], 2, { session: { sessionId, messages: turn } })).toBe(3)
      expect(await store.appendSession(sessionId, turn, undefined, { runId })).toBe(2)
      expect(await store.getSession(sessionId)).toMatchObject({
        version: 2,
        messages: [user('earlier'), ...turn],
      })
      expect(await store.lastSeq(runId)).toBe(3)
    })

    it('starts a session that does not exist yet, with or without a lease and a snapshot', async () => {
      const { store, id } = harness()
      const runId = id('run')
      const sessionId = id('session')
      await store.createRun({ runId, agentId: 'agent', sessionId })
      const lease = await store.acquireLease(runId, 'w1', 1000)
      expect(
        await store.append(runId, [event(1), event(2)], 0, {
          lease: lease!,
          snapshot: { state: { step: 2 }, schemaVersion: 1 },
          session: { sessionId, messages: [user('a'), assistant('b')] },
        }),
      ).toBe(2)
      expect(await store.getSession(sessionId)).toMatchObject({
        version: 1,
        messages: [user('a'), assistant('b')],
      })
      expect(await store.getSnapshot(runId)).toMatchObject({ seq: 2, state: { step: 2 } })
      // Another run's turn follows it.
      const other = id('run')
      await store.createRun({ runId: other, agentId: 'agent', sessionId })
      expect(
        await store.append(other, [event(1)], 0, { session: { sessionId, messages: [user('c')] } }),
      ).toBe(1)
      expect((await store.getSession(sessionId))?.messages).toEqual([user('a'), assistant('b'), user('c')])
    })

    it('goes with a lease, a snapshot and the final row in one write; a turn already there keeps the row patch', async () => {
      const { store, id } = harness()
      const runId = id('run')
      const sessionId = id('session')
      await store.createRun({ runId, agentId: 'agent', sessionId })
      const lease = await store.acquireLease(runId, 'w1', 1000)
      const turn = { sessionId, messages: [user('q'), assistant('a')] }
      const snapshot = { state: { step: 1 }, schemaVersion: 2 }
      expect(
        await store.append(runId, [event(1)], 0, { lease: lease!, snapshot, run: completed, session: turn }),
      ).toBe(1)
      expect(await store.getSnapshot(runId)).toMatchObject({ seq: 1, state: { step: 1 }, schemaVersion: 2 })
      expect(await store.getRun(runId)).toMatchObject({ status: 'completed', answer: 'done' })
      expect(await store.getSession(sessionId)).toMatchObject({ version: 1, messages: turn.messages })
      // The same turn again with a patch: the patch applies, the session stays.
      expect(
        await store.append(runId, [event(2)], 1, {
          lease: lease!,
          snapshot,
          run: { metadata: { again: true } },
          session: turn,
        }),
      ).toBe(2)
      expect(await store.getRun(runId)).toMatchObject({ status: 'completed', metadata: { again: true } })
      expect(await store.getSnapshot(runId)).toMatchObject({ seq: 2 })
      expect(await store.getSession(sessionId)).toMatchObject({ version: 1, messages: turn.messages })
    })

    it('writes no turn when the append is refused', async () => {
      const { store, id, advance } = harness()
      const runId = id('run')
      const sessionId = id('session')
      await store.createRun({ runId, agentId: 'agent', sessionId })
      const first = await store.acquireLease(runId, 'w1', 1000)
      expect(await store.append(runId, [event(1)], 0, { lease: first! })).toBe(1)
      const session = { sessionId, messages: [user('hi')] }
      await expectStoreError(store.append(runId, [event(2)], 0, { lease: first!, session }), 'conflict')
      await expectStoreError(store.append(runId, [event(2)], 0, { session, run: completed }), 'conflict')
      advance(1001)
      const second = await store.acquireLease(runId, 'w2', 1000)
      await expectStoreError(store.append(runId, [event(2)], 1, { lease: first!, session }), 'fenced')
      await expectStoreError(
        store.append(id('missing'), [event(1)], 0, { session, run: completed }),
        'not-found',
      )
      expect(await store.getSession(sessionId)).toBeUndefined()
      expect(await store.lastSeq(runId)).toBe(1)
      // The turn was never written, so the owner's retry writes it.
      expect(await store.append(runId, [event(2)], 1, { lease: second!, session, run: completed })).toBe(2)
      expect(await store.getSession(sessionId)).toMatchObject({ version: 1, messages: [user('hi')] })
    })

    it('refuses a bad turn with invalid-argument and writes nothing', async () => {
      const { store, id } = harness()
      const runId = id('run')
      const sessionId = id('session')
      await store.createRun({ runId, agentId: 'agent', sessionId })
      await store.appendSession(sessionId, [user('kept')])
      const before = await store.getRun(runId)
      const cyclic: Record<string, unknown> = { role: 'user' }
      cyclic.content = cyclic
      const bad: unknown[] = [
        { sessionId: '', messages: [user('x')] },
        { sessionId, messages: 'x' },
        { sessionId, messages: [cyclic] },
        { sessionId, messages: [{ role: 'user', content: 1n }] },
      ]
      for (const session of bad) {
        await expectStoreError(
          store.append(runId, [event(1)], 0, { session: session as never, run: completed }),
          'invalid-argument',
        )
        await expectStoreError(
          store.append(runId, [event(1)], 0, { session: session as never }),
          'invalid-argument',
        )
      }
      expect(await store.lastSeq(runId)).toBe(0)
      expect(await store.getRun(runId)).toEqual(before)
      expect(await store.getSession(sessionId)).toMatchObject({ version: 1, messages: [user('kept')] })
    })
  })
}
