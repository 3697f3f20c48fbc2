import { describe, expect, it } from 'vitest'
import { emptyRunState, type Message, messagesForModel, type RunState, slidingWindow } from '../src/index.ts'

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
