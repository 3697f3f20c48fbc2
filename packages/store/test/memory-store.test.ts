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
      const entry = state.journals.get(id)?.find((candidate) => candidate.seq === seq)
      if (entry === undefined) throw new Error(`no journal entry ${id}#${seq}`)
      entry.data = '{"truncated'
    } else if (kind === 'snapshot') {
      const snapshot = state.snapshots.get(id)
      if (snapshot?.seq !== seq) throw new Error(`no snapshot ${id}#${seq}`)
      snapshot.state = 'not json'
    } else if (kind === 'run') {
      const text = state.runs.get(id)
      if (text === undefined) throw new Error(`no run ${id}`)
      // Valid JSON with a field of the wrong shape: metadata must be an object.
      state.runs.set(id, JSON.stringify({ ...JSON.parse(text), metadata: 'cut' }))
    } else {
      const session = state.sessions.get(id)
      if (session === undefined || seq >= session.messages.length) throw new Error(`no message ${id}#${seq}`)
      session.messages[seq] = '[1,'
    }
  },
})
