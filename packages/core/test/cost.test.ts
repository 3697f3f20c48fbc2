import { describe, expect, it } from 'vitest'
import {
  type Command,
  costOf,
  defaultPrices,
  emptyRunState,
  events,
  priceFor,
  type RunEvent,
  type RunState,
  type StreamPart,
  step,
} from '../src/index.ts'

const price = { inputPerMTok: 2, outputPerMTok: 10, cachedInputPerMTok: 0.5 }

const fold = (list: RunEvent[]): [RunState, Command[]] => {
  let state = emptyRunState
  let last: Command[] = []
  for (const event of list) [state, last] = step(state, event)
  return [state, last]
}

const emitted = (commands: Command[]): StreamPart[] =>
  commands.flatMap((command) => (command.type === 'emit' ? command.parts : []))

describe('costOf', () => {
  it('prices fresh input, cached input and output separately, per million tokens', () => {
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 100_000,
      reasoningTokens: 0,
      cachedInputTokens: 400_000,
    }
    // 600k fresh at $2, 400k cached at $0.5, 100k out at $10
    expect(costOf(usage, price)).toBeCloseTo(1.2 + 0.2 + 1, 10)
    expect(costOf(usage, { inputPerMTok: 2, outputPerMTok: 10 })).toBeCloseTo(2 + 1, 10)
  })
})

describe('priceFor', () => {
  const table = {
    'openai:gpt-5': price,
    'openai:gpt-5.4-mini': defaultPrices['openai:gpt-5.4-mini']!,
    'my-model': price,
  }
  it('matches provider:model, then a bare model id', () => {
    expect(priceFor(table, 'openai', 'gpt-5')).toBe(price)
    expect(priceFor(table, 'anything', 'my-model')).toBe(price)
    expect(priceFor(table, 'anthropic', 'gpt-5')).toBeUndefined()
  })
  it('matches dated and preview snapshots of a listed model, not other variants', () => {
    expect(priceFor(table, 'openai', 'gpt-5-2026-04-01')).toBe(price)
    expect(priceFor(table, 'openai', 'gpt-5.4-mini-2026-03-17')).toBe(defaultPrices['openai:gpt-5.4-mini'])
    expect(priceFor(table, 'openai', 'gpt-5-mini')).toBeUndefined()
    expect(priceFor(defaultPrices, 'gemini', 'gemini-3.1-pro-preview')).toEqual({
      inputPerMTok: 2,
      outputPerMTok: 12,
    })
    expect(priceFor(defaultPrices, 'anthropic', 'claude-sonnet-4-5-20250929')?.outputPerMTok).toBe(15)
  })
})

describe('step: maxCostUsd', () => {
  // 100k input + 10k output at $2/$10 = $0.30 per response
  const spend = { inputTokens: 100_000, outputTokens: 10_000 }
  const start = events.started('go', { policy: { maxCostUsd: 0.5, price } })

  it('goes on while under budget', () => {
    const [state, commands] = fold([start, events.toolCalls([{ id: 'c1', name: 'add' }], { usage: spend })])
    expect(state.phase).toBe('acting')
    expect(commands.some((command) => command.type === 'call-tool')).toBe(true)
  })

  it('ends the run completed when a response reaches it: tool calls answered "not run", text is the answer', () => {
    const [state, commands] = fold([
      start,
      events.toolCalls([{ id: 'c1', name: 'add' }], { usage: spend }),
      events.toolResult('c1', 3),
      events.toolCalls([{ id: 'c2', name: 'add' }], { usage: spend, text: 'so far: 3' }),
    ])
    expect(state.phase).toBe('completed')
    expect(state.answer).toBe('so far: 3')
    expect(state.finishReason).toBe('length')
    expect(state.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c2',
          toolName: 'add',
          error: 'Not run: the cost budget was reached.',
        },
      ],
    })
    expect(commands.some((command) => command.type === 'call-tool')).toBe(false)
    expect(commands.at(-1)).toEqual({ type: 'finish', phase: 'completed', answer: 'so far: 3', error: null })
    expect(emitted(commands).at(-1)).toEqual({ type: 'finish', finishReason: 'length' })
  })

  it('without a price the budget cannot be measured and does not end the run', () => {
    const [state] = fold([
      events.started('go', { policy: { maxCostUsd: 0 } }),
      events.toolCalls([{ id: 'c1', name: 'add' }], { usage: spend }),
    ])
    expect(state.phase).toBe('acting')
  })

  it('keeps the trace context of run.started in the state', () => {
    const [state] = fold([
      { ...start, trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    ])
    expect(state.trace).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
  })
})
