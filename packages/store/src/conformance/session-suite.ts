import type { Message } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { expectStoreError, type Harness, roundTrip } from './harness.ts'

const user = (content: string): Message => ({ role: 'user', content })

const assistant: Message = {
  role: 'assistant',
  content: [
    { type: 'reasoning', text: 'thinking…', providerMetadata: { anthropic: { signature: 'sig==' } } },
    { type: 'text', text: 'Calling 🛠' },
    { type: 'tool-call', id: 'call-1', name: 'search', input: { q: 'ünïcode' } },
  ],
  providerMetadata: { openai: { responseId: 'resp_1' } },
}

/** Sessions: appends as rows with a version per write, version checks, replace, delete. */
export const sessionSuite = (harness: () => Harness): void => {
  describe('sessions', () => {
    it('appends messages, one version per write', async () => {
      const { store, id, context } = harness()
      const sessionId = id('session')
      expect(await store.getSession(sessionId)).toBeUndefined()
      expect(await store.appendSession(sessionId, [user('hi'), assistant])).toBe(1)
      expect(await store.appendSession(sessionId, [user('again')], 1)).toBe(2)
      expect(await store.appendSession(sessionId, [user('no check')])).toBe(3)
      const session = await store.getSession(sessionId)
      expect(session).toEqual({
        sessionId,
        messages: [user('hi'), assistant, user('again'), user('no check')],
        version: 3,
        updatedAt: context.now(),
      })
      expect(roundTrip(session)).toEqual(session)
    })

    it('rejects a write with the wrong version and keeps the history', async () => {
      const { store, id } = harness()
      const sessionId = id('session')
      await expectStoreError(store.appendSession(sessionId, [user('x')], 1), 'conflict')
      expect(await store.getSession(sessionId)).toBeUndefined()
      await store.appendSession(sessionId, [user('one')], 0)
      await expectStoreError(store.appendSession(sessionId, [user('two')], 0), 'conflict')
      await expectStoreError(store.replaceSession(sessionId, [user('new')], 0), 'conflict')
      expect(await store.getSession(sessionId)).toMatchObject({ messages: [user('one')], version: 1 })
    })

    it('replaces the history under a version check', async () => {
      const { store, id } = harness()
      const sessionId = id('session')
      expect(await store.replaceSession(sessionId, [user('a'), user('b')], 0)).toBe(1)
      expect(await store.replaceSession(sessionId, [user('summary')], 1)).toBe(2)
      expect(await store.appendSession(sessionId, [user('c')], 2)).toBe(3)
      expect((await store.getSession(sessionId))?.messages).toEqual([user('summary'), user('c')])
      expect(await store.replaceSession(sessionId, [], 3)).toBe(4)
      expect(await store.getSession(sessionId)).toMatchObject({ messages: [], version: 4 })
    })

    it('lets exactly one of two connections win a versioned append', async () => {
      const { store, id, connect } = harness()
      const other = await connect()
      const sessionId = id('session')
      const outcomes = await Promise.allSettled([
        store.appendSession(sessionId, [user('from a')], 0),
        other.appendSession(sessionId, [user('from b')], 0),
      ])
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
      const lost = outcomes.find((outcome) => outcome.status === 'rejected')
      expect(lost?.status === 'rejected' && lost.reason).toMatchObject({ reason: 'conflict' })
      const session = await other.getSession(sessionId)
      expect(session?.version).toBe(1)
      expect(session?.messages).toHaveLength(1)
    })

    it("appends one run's turn at most once, whatever version the repeat expects", async () => {
      const { store, id } = harness()
      const sessionId = id('session')
      const [first, second] = [id('run'), id('run')]
      expect(await store.appendSession(sessionId, [user('q1'), assistant], 0, { runId: first })).toBe(1)
      // The run crashed around its write and writes its turn again: nothing changes.
      expect(await store.appendSession(sessionId, [user('q1'), assistant], 0, { runId: first })).toBe(1)
      expect(await store.appendSession(sessionId, [user('other')], undefined, { runId: first })).toBe(1)
      expect(await store.appendSession(sessionId, [user('q2')], 1, { runId: second })).toBe(2)
      expect(await store.appendSession(sessionId, [user('q1 again')], 1, { runId: first })).toBe(2)
      // Without a runId an append is not deduplicated.
      expect(await store.appendSession(sessionId, [user('plain')])).toBe(3)
      const session = await store.getSession(sessionId)
      expect(session).toMatchObject({
        version: 3,
        messages: [user('q1'), assistant, user('q2'), user('plain')],
      })
      // A replace (e.g. a summary) keeps the record of turns written; a delete forgets it.
      expect(await store.replaceSession(sessionId, [user('summary')], 3)).toBe(4)
      expect(await store.appendSession(sessionId, [user('q2')], undefined, { runId: second })).toBe(4)
      await store.deleteSession(sessionId)
      expect(await store.appendSession(sessionId, [user('fresh')], 0, { runId: first })).toBe(1)
      expect((await store.getSession(sessionId))?.messages).toEqual([user('fresh')])
      // The same run id in another session is another turn.
      expect(await store.appendSession(id('session'), [user('elsewhere')], 0, { runId: first })).toBe(1)
    })

    it('writes all messages of a turn or none, and a failed turn can be written again', async () => {
      const { store, id } = harness()
      const sessionId = id('session')
      const runId = id('run')
      await store.appendSession(sessionId, [user('before')])
      await expectStoreError(
        store.appendSession(sessionId, [user('ok'), { role: 'user', content: 1n as never }], 1, { runId }),
        'invalid-argument',
      )
      await expectStoreError(store.appendSession(sessionId, [user('stale')], 0, { runId }), 'conflict')
      await expectStoreError(
        store.appendSession(sessionId, [user('x')], undefined, { runId: '' }),
        'invalid-argument',
      )
      expect(await store.getSession(sessionId)).toMatchObject({ version: 1, messages: [user('before')] })
      expect(await store.appendSession(sessionId, [user('ok'), user('done')], 1, { runId })).toBe(2)
      expect((await store.getSession(sessionId))?.messages).toEqual([
        user('before'),
        user('ok'),
        user('done'),
      ])
    })

    it("lands two runs' turns from two connections, and one run's turn once", async () => {
      const { store, id, connect } = harness()
      const other = await connect()
      const sessionId = id('session')
      const [a, b, c] = [id('run'), id('run'), id('run')]
      const both = await Promise.all([
        store.appendSession(sessionId, [user('from a')], undefined, { runId: a }),
        other.appendSession(sessionId, [user('from b')], undefined, { runId: b }),
      ])
      expect([...both].sort()).toEqual([1, 2])
      const same = await Promise.all([
        store.appendSession(sessionId, [user('from c')], undefined, { runId: c }),
        other.appendSession(sessionId, [user('from c')], undefined, { runId: c }),
      ])
      expect(same).toEqual([3, 3])
      const session = await other.getSession(sessionId)
      expect(session?.version).toBe(3)
      expect(session?.messages.map((message) => message.content).sort()).toEqual([
        'from a',
        'from b',
        'from c',
      ])
    })

    it('keeps every message of concurrent unversioned appends from two connections, each in one piece', async () => {
      const { store, id, connect } = harness()
      const other = await connect()
      const sessionId = id('session')
      const writes = Array.from({ length: 12 }, (_, index) => {
        const connection = index % 2 === 0 ? store : other
        const pair = [user(`q${index}`), user(`a${index}`)]
        return index % 3 === 0
          ? connection.appendSession(sessionId, pair, undefined, { runId: `run-${index}` })
          : connection.appendSession(sessionId, pair)
      })
      const versions = await Promise.all(writes)
      expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1))
      const session = await other.getSession(sessionId)
      expect(session?.version).toBe(12)
      const contents = (session?.messages ?? []).map((message) => String(message.content))
      expect(contents).toHaveLength(24)
      // Each append's two messages are adjacent, in the order its version says.
      const order = [...writes.keys()].sort((a, b) => (versions[a] as number) - (versions[b] as number))
      expect(contents).toEqual(order.flatMap((index) => [`q${index}`, `a${index}`]))
    })

    it('deletes one session and nothing else', async () => {
      const { store, id } = harness()
      const [a, b] = [id('session'), id('session')]
      await store.appendSession(a, [user('a')])
      await store.appendSession(b, [user('b')])
      await store.deleteSession(a)
      expect(await store.getSession(a)).toBeUndefined()
      expect((await store.getSession(b))?.messages).toEqual([user('b')])
      expect(await store.appendSession(a, [user('fresh')], 0)).toBe(1)
    })

    it('reports an unparsable message as corrupted, naming the session and position', async (test) => {
      const { store, id, corrupt } = harness()
      if (corrupt === undefined) return test.skip()
      const [sessionId, other] = [id('session'), id('session')]
      await store.appendSession(sessionId, [user('a'), user('b')])
      await store.appendSession(other, [user('c')])
      await corrupt({ kind: 'session', id: sessionId, seq: 1 })
      const error = await expectStoreError(store.getSession(sessionId), 'corrupted')
      expect(error.message).toContain(sessionId)
      expect(error.message).toContain('#1')
      expect((await store.getSession(other))?.messages).toEqual([user('c')])
    })
  })
}
