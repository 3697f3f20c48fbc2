import type { Store } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { intercept, storeBackends, withoutFeatures } from './run-support.ts'
import { scripted } from './support.ts'

const backends = storeBackends('vel-final-row-')

/** The store calls a run makes, in order: an append with the `run` option it carried, if any. */
const recording = (store: Store) => {
  const calls: string[] = []
  const wrapped = intercept(store, {
    append: (
      call,
      _runId: string,
      _entries: unknown,
      _seq: number,
      options?: { run?: { status?: string }; session?: { sessionId: string } },
    ) => {
      const run = options?.run === undefined ? '' : `+run:${options.run.status}`
      const session = options?.session === undefined ? '' : `+session:${options.session.sessionId}`
      calls.push(`append${run}${session}`)
      return call()
    },
    updateRun: (call, _runId: string, patch: { status?: string }) => {
      calls.push(`updateRun:${patch.status}`)
      return call()
    },
    appendSession: (call) => {
      calls.push('appendSession')
      return call()
    },
  })
  return { store: wrapped, calls }
}

const agent = (respond: () => { text: string }) =>
  new Agent({ id: 'final', model: scripted(respond), policies: { retry: false } })

describe.each(backends)('the final index row (ADR 0117), %s', (_name, open) => {
  it('goes with the last entry, and is final when the result resolves', async () => {
    const { store, calls } = recording(await open())
    const runtime = createRuntime({ store, agents: [agent(() => ({ text: 'hello' }))] })
    const handle = await runtime.spawn('final', 'hi')
    const answer = await handle.result
    expect(await store.getRun(handle.runId)).toMatchObject({ status: 'completed', answer, pending: [] })
    expect(calls.at(-1)).toBe('append+run:completed')
    expect(calls.filter((call) => call.startsWith('updateRun'))).toEqual([])
    await runtime.shutdown()
  })

  it.each([
    ['', undefined],
    [', in a session, writing no turn', 'failed-session'],
  ])('goes with the last entry of a failed run too%s', async (_in, sessionId) => {
    const { store, calls } = recording(await open())
    const runtime = createRuntime({
      store,
      agents: [
        agent(() => {
          throw new Error('boom')
        }),
      ],
      onError: () => undefined,
    })
    const handle = await runtime.spawn('final', 'hi', sessionId === undefined ? {} : { sessionId })
    await expect(handle.result).rejects.toThrow()
    const row = await store.getRun(handle.runId)
    expect(row?.status).toBe('failed')
    expect(row?.error).not.toBeNull()
    expect(calls.at(-1)).toBe('append+run:failed')
    expect(calls.filter((call) => call === 'appendSession' || call.startsWith('updateRun'))).toEqual([])
    if (sessionId !== undefined) expect(await store.getSession(sessionId)).toBeUndefined()
    await runtime.shutdown()
  })

  it('of a session run, on a store without the session-turn feature, is written after the turn', async () => {
    const { store, calls } = recording(withoutFeatures(await open()))
    const runtime = createRuntime({ store, agents: [agent(() => ({ text: 'hello' }))] })
    const handle = await runtime.spawn('final', 'hi', { sessionId: 'old-store-session' })
    const answer = await handle.result
    expect(await store.getRun(handle.runId)).toMatchObject({ status: 'completed', answer })
    expect(calls.slice(-3)).toEqual(['append', 'appendSession', 'updateRun:completed'])
    const session = await store.getSession('old-store-session')
    expect(session?.messages.map((message) => message.role)).toEqual(['user', 'assistant'])
    await runtime.shutdown()
  })

  it('of a session run goes with the last entry and the session turn (ADR 0127)', async () => {
    const { store, calls } = recording(await open())
    const runtime = createRuntime({ store, agents: [agent(() => ({ text: 'hello' }))] })
    const handle = await runtime.spawn('final', 'hi', { sessionId: 'final-session' })
    const answer = await handle.result
    expect(await store.getRun(handle.runId)).toMatchObject({ status: 'completed', answer })
    expect(calls.at(-1)).toBe('append+run:completed+session:final-session')
    expect(calls.filter((call) => call === 'appendSession' || call.startsWith('updateRun'))).toEqual([])
    const session = await store.getSession('final-session')
    expect(session?.messages.map((message) => message.role)).toEqual(['user', 'assistant'])
    // The next turn reads it.
    const next = await runtime.spawn('final', 'again', { sessionId: 'final-session' })
    await next.result
    expect((await store.getSession('final-session'))?.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ])
    await runtime.shutdown()
  })
})
