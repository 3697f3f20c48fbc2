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
