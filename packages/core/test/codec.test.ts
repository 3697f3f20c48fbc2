import { describe, expect, it } from 'vitest'
import {
  decodeRunState,
  emptyRunState,
  ProviderError,
  RunError,
  type RunState,
  StoreError,
  serializeError,
  step,
  ToolError,
  TransportError,
  textOf,
  toMessages,
} from '../src/index.ts'
import { calls, started } from './fixtures.ts'

describe('decodeRunState', () => {
  const [state] = step(emptyRunState, started())

  it('accepts a stored state after a JSON round trip', () => {
    const stored = JSON.parse(JSON.stringify(state)) as unknown
    expect(decodeRunState(stored, 1)).toEqual(state)
  })

  it.each([
    ['null', null],
    ['an array', []],
    ['no run id', { ...state, runId: '' }],
    ['an unknown phase', { ...state, phase: 'dancing' }],
    ['messages not an array', { ...state, messages: {} }],
    ['missing tool calls', { ...state, toolCalls: undefined }],
    ['missing policy', { ...state, policy: null }],
  ])('rejects %s as corrupted', (_name, value) => {
    expect(() => decodeRunState(value)).toThrow(RunError)
    try {
      decodeRunState(value)
    } catch (error) {
      expect((error as RunError).reason).toBe('corrupted')
    }
  })

  it('rejects a state from a newer version, and an unknown old version', () => {
    expect(() => decodeRunState(state, 99)).toThrow(/newer than this code/)
    expect(() => decodeRunState(state, 0)).toThrow(/no upgrade from version 0/)
  })

  it('keeps provider metadata through persistence', () => {
    const [withReasoning] = step(state, {
      ...calls([{ id: 'c1' }]),
      message: {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'think', providerMetadata: { anthropic: { signature: 'sig==' } } },
          {
            type: 'tool-call',
            id: 'c1',
            name: 'add',
            input: {},
            providerMetadata: { gemini: { thoughtSignature: 'ts' } },
          },
        ],
      },
    } as never)
    const loaded: RunState = decodeRunState(JSON.parse(JSON.stringify(withReasoning)))
    expect(loaded.messages.at(-1)).toEqual(withReasoning.messages.at(-1))
  })
})

describe('errors', () => {
  it('carry a tag, a reason, retryability and a JSON form', () => {
    const provider = new ProviderError({
      reason: 'rate-limited',
      message: 'slow down',
      provider: 'openai',
      status: 429,
      retryAfterMs: 2000,
    })
    expect(provider.retryable).toBe(true)
    expect(ProviderError.isInstance(provider)).toBe(true)
    expect(ProviderError.isInstance(new Error('x'))).toBe(false)
    expect(serializeError(provider)).toEqual({
      tag: 'ProviderError',
      reason: 'rate-limited',
      message: 'slow down',
      retryable: true,
      provider: 'openai',
      status: 429,
      retryAfterMs: 2000,
    })
    expect(new ProviderError({ reason: 'auth', message: 'no key', provider: 'x' }).retryable).toBe(false)
    expect(new StoreError('unavailable', 'down').retryable).toBe(true)
    expect(StoreError.isInstance(new StoreError('conflict', 'c'))).toBe(true)
    expect(new ToolError('timeout', 't', 'slow').retryable).toBe(true)
    expect(ToolError.isInstance(new ToolError('execution', 't', 'x'))).toBe(true)
    expect(TransportError.isInstance(new TransportError('malformed-payload', 'bad'))).toBe(true)
    expect(RunError.isInstance(new RunError('not-found', 'no run', { runId: 'r' }))).toBe(true)
    expect(serializeError(new TypeError('bad'))).toEqual({
      tag: 'TypeError',
      reason: 'unknown',
      message: 'bad',
      retryable: false,
    })
    expect(serializeError('weird')).toMatchObject({ tag: 'Unknown', message: 'weird' })
  })
})

describe('messages', () => {
  it('normalizes input and reads text', () => {
    expect(toMessages('hi')).toEqual([{ role: 'user', content: 'hi' }])
    expect(toMessages({ role: 'user', content: [{ type: 'text', text: 'x' }] })).toHaveLength(1)
    expect(
      toMessages([
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
      ]),
    ).toHaveLength(2)
    expect(
      textOf({
        role: 'assistant',
        content: [
          { type: 'text', text: 'a' },
          { type: 'reasoning', text: 'r' },
          { type: 'text', text: 'b' },
        ],
      }),
    ).toBe('ab')
  })

  it("takes the Python seed's { message } as a user message", () => {
    expect(toMessages({ message: 'What is the weather in Tokyo?' })).toEqual([
      { role: 'user', content: 'What is the weather in Tokyo?' },
    ])
  })

  it.each([
    [{ text: 'hi' }, "an object with 'text'"],
    [{ message: 'hi', sessionId: 's' }, "an object with 'message', 'sessionId'"],
    [{ message: 42 }, "an object with 'message'"],
    [{ role: 'assistant', content: [] }, "an object with 'role', 'content'"],
    [{ role: 'user' }, "an object with 'role'"],
    [{}, 'an empty object'],
    [null, 'null'],
    [7, 'number'],
  ])('refuses %j naming the accepted forms', (input, got) => {
    expect(() => toMessages(input as never)).toThrow(
      new TypeError(
        `Run input must be a string, { message: string }, a user message ({ role: 'user', content }) or an array of messages; got ${got}`,
      ),
    )
  })

  it('refuses an array holding something that is not a message, naming the item', () => {
    expect(() => toMessages([{ role: 'user', content: 'u' }, { message: 'x' }] as never)).toThrow(
      /^Run input: item 1 of the array is not a message .*; got an object with 'message'$/,
    )
    expect(() => toMessages(['hi'] as never)).toThrow(TypeError)
  })
})
