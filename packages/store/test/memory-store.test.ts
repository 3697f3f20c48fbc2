import { describe, expect, it } from 'vitest'
import { decodeJson } from '../src/codec.ts'
import { createMemoryState, createMemoryStore, type MemoryState } from '../src/index.ts'
import { describeStore } from '../src/testing.ts'
import { fixtures } from './fixtures.ts'

const states = new Map<string, MemoryState>()
const stateOf = (dataset: string): MemoryState => {
  const state = states.get(dataset) ?? createMemoryState()
  states.set(dataset, state)
  return state
}

describeStore('memory', ({ now, dataset }) => createMemoryStore({ state: stateOf(dataset), now }), {
  fixtures,
  corrupt: async ({ kind, id, seq }, { dataset }) => {
    const state = stateOf(dataset)
    if (kind === 'journal') {
      const journal = state.journals.get(id)
      const index = journal === undefined ? -1 : seq - journal.first
      if (journal === undefined || journal.data[index] === undefined)
        throw new Error(`no journal entry ${id}#${seq}`)
      journal.data[index] = '{"truncated'
    } else if (kind === 'snapshot') {
      const snapshot = state.snapshots.get(id)
      if (snapshot?.seq !== seq) throw new Error(`no snapshot ${id}#${seq}`)
      snapshot.state = 'not json'
    } else if (kind === 'run') {
      const text = state.runs.get(id)
      if (text === undefined) throw new Error(`no run ${id}`)
      // Valid JSON with a field of the wrong shape: metadata must be an object.
      state.runs.set(id, JSON.stringify({ ...decodeJson<object>(text, id), metadata: 'cut' }))
    } else {
      const session = state.sessions.get(id)
      if (session === undefined || seq >= session.messages.length) throw new Error(`no message ${id}#${seq}`)
      session.messages[seq] = '[1,'
    }
  },
})

describe('memory store: a run that stops stepping', () => {
  const runState = (runId: string, step: number) => ({
    version: 1,
    runId,
    agentId: 'a',
    sessionId: null,
    parentRunId: null,
    phase: 'waiting',
    step,
    messages: [{ role: 'user', content: 'Add 1 and 1' }],
    priorCount: 0,
    toolCalls: [
      {
        toolCallId: 'call_1',
        toolName: 'add',
        input: { a: 1, b: 1 },
        sideEffects: 'none',
        status: 'approval',
      },
    ],
    pending: [
      { requestId: 'call_1', kind: 'approval', toolName: 'add', input: { a: 1, b: 1 }, requestedAt: 1 },
    ],
    usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
    policy: { maxSteps: 10, maxErrorChars: 1000, context: { type: 'full' } },
    finalizing: false,
    answer: null,
    error: null,
    finishReason: 'tool-calls',
    toolErrors: 0,
    startedAt: 1,
  })
  const entry = (n: number) => ({
    type: 'tool.succeeded',
    data: { type: 'tool.succeeded', toolCallId: `c${n}`, output: n },
  })

  it('keeps its snapshot as compact text once it parks, and reads back the same state and journal', async () => {
    const state = createMemoryState()
    const store = createMemoryStore({ state })
    await store.createRun({ runId: 'r', agentId: 'a' })
    await store.append('r', [entry(1), entry(2)], 0, {
      snapshot: { state: runState('r', 1), schemaVersion: 1 },
    })
    const json = JSON.stringify(runState('r', 1))
    expect(state.snapshots.get('r')?.state).toBe(json)
    await store.updateRun('r', { status: 'waiting' })
    const compact = state.snapshots.get('r')?.state as string
    expect(compact.length).toBeLessThan(json.length / 2)
    expect((await store.getSnapshot('r'))?.state).toEqual(runState('r', 1))
    expect((await store.read('r')).map((e) => e.data)).toEqual([entry(1).data, entry(2).data])
    // It resumes: appends go on after the settled columns; a new snapshot is JSON until it stops again.
    await store.updateRun('r', { status: 'running' })
    await store.append('r', [entry(3)], 2, { snapshot: { state: runState('r', 2), schemaVersion: 1 } })
    expect(state.snapshots.get('r')?.state).toBe(JSON.stringify(runState('r', 2)))
    await store.updateRun('r', { status: 'completed', answer: 'done' })
    expect(state.snapshots.get('r')?.state.length).toBeLessThan(json.length / 2)
    expect((await store.getSnapshot('r'))?.state).toEqual(runState('r', 2))
    expect((await store.read('r', { afterSeq: 1 })).map((e) => [e.seq, e.data])).toEqual([
      [2, entry(2).data],
      [3, entry(3).data],
    ])
    const journal = state.journals.get('r')
    expect([journal?.types.length, journal?.ats.length, journal?.data.length]).toEqual([3, 3, 3])
  })

  it('leaves a damaged snapshot damaged: reading it is still corrupted, naming the run', async () => {
    const state = createMemoryState()
    const store = createMemoryStore({ state })
    await store.createRun({ runId: 'r', agentId: 'a' })
    await store.append('r', [entry(1)], 0, { snapshot: { state: runState('r', 1), schemaVersion: 1 } })
    const snapshot = state.snapshots.get('r') as { state: string }
    snapshot.state = snapshot.state.slice(0, -40)
    await store.updateRun('r', { status: 'waiting' })
    await expect(store.getSnapshot('r')).rejects.toMatchObject({ _tag: 'StoreError', reason: 'corrupted' })
    await expect(store.getSnapshot('r')).rejects.toThrow(/snapshot r#1/)
    expect(await store.getRun('r')).toMatchObject({ status: 'waiting' })
  })
})
