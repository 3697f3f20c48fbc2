import { describe, expect, it } from 'vitest'
import {
  emptyRunState,
  type Message,
  messagesForModel,
  type RunState,
  slidingWindow,
  summaryBoundary,
  summaryPreamble,
  withSummary,
} from '../src/index.ts'

const call = (id: string): Message => ({
  role: 'assistant',
  content: [{ type: 'tool-call', id, name: 't', input: {} }],
})
const result = (id: string, error?: string): Message => ({
  role: 'tool',
  content: [
    error
      ? { type: 'tool-result', toolCallId: id, toolName: 't', error }
      : { type: 'tool-result', toolCallId: id, toolName: 't', output: 1 },
  ],
})
const system: Message = { role: 'system', content: 'rules' }
const user = (text: string): Message => ({ role: 'user', content: text })

const withMessages = (
  messages: Message[],
  policy: RunState['policy']['context'],
  extra: Partial<RunState> = {},
): RunState => ({
  ...emptyRunState,
  messages,
  policy: { ...emptyRunState.policy, context: policy },
  ...extra,
})

describe('context policies', () => {
  const history = [system, user('old'), call('a'), result('a'), user('new'), call('b'), result('b')]

  it('full sends everything, the same array (no copy)', () => {
    const state = withMessages(history, { type: 'full' })
    expect(messagesForModel(state)).toBe(state.messages)
  })

  it('window keeps system messages and never starts on an orphaned tool result', () => {
    expect(slidingWindow(history, 3)).toEqual([system, user('new'), call('b'), result('b')])
    // A window of 4 would start on result('a'): it moves past the orphan instead.
    expect(slidingWindow(history, 4)).toEqual([system, user('new'), call('b'), result('b')])
    expect(slidingWindow(history, 5)).toEqual([
      system,
      call('a'),
      result('a'),
      user('new'),
      call('b'),
      result('b'),
    ])
    expect(messagesForModel(withMessages(history, { type: 'window', maxMessages: 2 }))).toEqual([
      system,
      call('b'),
      result('b'),
    ])
  })

  it('stateless drops prior history but keeps the system prompt', () => {
    const state = withMessages(
      [system, user('old'), call('a'), result('a'), user('now')],
      { type: 'stateless' },
      { priorCount: 4 },
    )
    expect(messagesForModel(state)).toEqual([system, user('now')])
  })

  it('custom calls the named function with the state', () => {
    const state = withMessages(history, { type: 'custom', name: 'lastTwo' })
    expect(messagesForModel(state, { lastTwo: (s) => s.messages.slice(-2) })).toEqual([
      call('b'),
      result('b'),
    ])
    expect(messagesForModel(state)).toBe(state.messages)
  })

  it('a summary stands for the messages before upTo, system messages kept, in every policy', () => {
    const summary = { upTo: 4, text: 'weather in Tokyo was asked' }
    const said: Message = { role: 'system', content: `${summaryPreamble}${summary.text}` }
    const full = withMessages(history, { type: 'full' }, { summary })
    expect(messagesForModel(full)).toEqual([system, said, user('new'), call('b'), result('b')])
    expect(withSummary(full)).toEqual(messagesForModel(full))
    expect(messagesForModel(withMessages(history, { type: 'window', maxMessages: 2 }, { summary }))).toEqual([
      system,
      said,
      call('b'),
      result('b'),
    ])
    // Stateless: prior history goes whether summarized or not; a summary of the run's own messages stays.
    const stateless = (priorCount: number) =>
      messagesForModel(withMessages(history, { type: 'stateless' }, { summary, priorCount }))
    expect(stateless(4)).toEqual([system, user('new'), call('b'), result('b')])
    expect(stateless(2)).toEqual([system, said, user('new'), call('b'), result('b')])
  })

  it('a summary boundary never leaves a tool result without its call', () => {
    expect(summaryBoundary(history, 3)).toBe(4)
    expect(summaryBoundary(history, 6)).toBe(7)
    expect(summaryBoundary(history, 99)).toBe(7)
    expect(summaryBoundary(history, 2)).toBe(2)
  })

  it('folds repeated identical tool errors', () => {
    const messages = [
      user('go'),
      call('a'),
      result('a', 'timeout'),
      call('b'),
      result('b', 'timeout'),
      call('c'),
      result('c', 'other'),
    ]
    const folded = messagesForModel(withMessages(messages, { type: 'full' }, { toolErrors: 3 }))
    expect(folded[2]).toEqual(result('a', 'timeout'))
    expect(folded[4]).toEqual(result('b', "Same error as before from 't' (repeat 2)."))
    expect(folded[6]).toEqual(result('c', 'other'))
  })
})
