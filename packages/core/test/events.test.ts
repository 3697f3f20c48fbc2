import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import {
  type Command,
  emptyRunState,
  events,
  ProviderError,
  type RunEvent,
  type RunState,
  stateFromEvents,
  step,
} from '../src/index.ts'

const noUsage = { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedInputTokens: 0 }

/** The walk-through of docs/concepts.md, one line per event. */
const walkThrough = (): RunEvent[] => [
  events.started('What is the weather in Tokyo?', { runId: 'r1', agentId: 'weather' }),
  events.toolCalls([{ id: 'c1', name: 'get_weather', input: { city: 'Tokyo' } }]),
  events.toolResult('c1', { tempC: 18, sky: 'clear' }),
  events.modelText('18 °C and clear in Tokyo.'),
]

/** The same run written out in full, as the reducer's types spell it. */
const longForm: RunEvent[] = [
  {
    type: 'run.started',
    runId: 'r1',
    agentId: 'weather',
    input: [{ role: 'user', content: 'What is the weather in Tokyo?' }],
    at: 0,
  },
  {
    type: 'model.responded',
    message: {
      role: 'assistant',
      content: [{ type: 'tool-call', id: 'c1', name: 'get_weather', input: { city: 'Tokyo' } }],
    },
    usage: noUsage,
    finishReason: 'tool-calls',
    plan: [{ toolCallId: 'c1', action: 'execute', sideEffects: 'unsafe' }],
    at: 0,
  },
  { type: 'tool.succeeded', toolCallId: 'c1', output: { tempC: 18, sky: 'clear' } },
  {
    type: 'model.responded',
    message: { role: 'assistant', content: [{ type: 'text', text: '18 °C and clear in Tokyo.' }] },
    usage: noUsage,
    finishReason: 'stop',
    plan: [],
    at: 0,
  },
]

const fold = (list: ReadonlyArray<RunEvent>): RunState[] => {
  const states: RunState[] = []
  let state = emptyRunState
  for (const event of list) {
    const [next, commands] = step(state, event)
    expect(commands.filter((command) => command.type === 'reject')).toEqual([])
    states.push(next)
    state = next
  }
  return states
}

describe('event builders', () => {
  it('build exactly the long-form events, so the walk-through goes through the same states', () => {
    expect(walkThrough()).toEqual(longForm)
    expect(fold(walkThrough())).toEqual(fold(longForm))
    const final = stateFromEvents(walkThrough())
    expect(final).toEqual(fold(longForm).at(-1))
    expect(final).toMatchObject({ phase: 'completed', step: 2, answer: '18 °C and clear in Tokyo.' })
  })

  it('are deterministic: no clock, the same events and states on every call', () => {
    const first = JSON.stringify(walkThrough())
    const states = JSON.stringify(fold(walkThrough()))
    expect(JSON.stringify(walkThrough())).toBe(first)
    expect(JSON.stringify(fold(walkThrough()))).toBe(states)
    expect(stateFromEvents(walkThrough()).startedAt).toBe(0)
  })

  it('cover approvals, questions, rejections, failures and usage', () => {
    const run = stateFromEvents([
      events.started([{ role: 'user', content: 'Deploy, then tell me' }], { policy: { maxSteps: 5 }, at: 5 }),
      events.toolCalls(
        [
          { id: 'd1', name: 'deploy', input: { env: 'prod' }, plan: 'approve', sideEffects: 'idempotent' },
          { id: 'q1', name: 'contactHuman', plan: { action: 'ask-human', question: 'Which region?' } },
          { id: 'x1', name: 'nope', plan: { action: 'reject', error: "Unknown tool 'nope'." } },
        ],
        { text: 'Working on it.', usage: { inputTokens: 10, outputTokens: 4 }, at: 7 },
      ),
    ])
    expect(run.phase).toBe('waiting')
    expect(run.pending.map((request) => [request.kind, request.requestId, request.requestedAt])).toEqual([
      ['approval', 'd1', 7],
      ['question', 'q1', 7],
    ])
    expect(run.usage).toEqual({ ...noUsage, inputTokens: 10, outputTokens: 4 })
    const done = stateFromEvents(
      [
        events.approved('d1', { by: 'ops' }),
        events.toolStarted('d1'),
        events.toolError('d1', 'timeout', 'timeout'),
        events.humanAnswered('q1', 'eu-west'),
        events.modelText('Deploy timed out; region eu-west noted.'),
      ],
      run,
    )
    expect(done.phase).toBe('completed')
    expect(done.messages.at(-2)).toEqual({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'd1', toolName: 'deploy', error: 'timeout' },
        { type: 'tool-result', toolCallId: 'q1', toolName: 'contactHuman', output: 'eu-west' },
        { type: 'tool-result', toolCallId: 'x1', toolName: 'nope', error: "Unknown tool 'nope'." },
      ],
    })
  })

  it('spell the other events as the reducer reads them', () => {
    expect(events.toolCalls([{ id: 'h', name: 'handoff', final: true }]).plan).toEqual([
      { toolCallId: 'h', action: 'execute', sideEffects: 'unsafe', final: true },
    ])
    expect(events.denied('c', { reason: 'no' })).toEqual({
      type: 'approval.decided',
      toolCallId: 'c',
      approved: false,
      reason: 'no',
    })
    expect(events.toolInterrupted('c')).toEqual({ type: 'tool.interrupted', toolCallId: 'c' })
    expect(events.cancelled()).toEqual({ type: 'run.cancelled' })
    expect(events.budgetExhausted('time', '60 s')).toEqual({
      type: 'budget.exhausted',
      budget: 'time',
      detail: '60 s',
    })
    const failure = new ProviderError({ reason: 'overloaded', message: 'busy', provider: 'openai' })
    expect(events.modelFailed(failure)).toEqual({ type: 'model.failed', error: failure.toJSON() })
    expect(events.modelFailed(failure.toJSON())).toEqual(events.modelFailed(failure))
    expect(events.modelFailed(new Error('boom')).error).toMatchObject({ tag: 'Error', message: 'boom' })
    expect(events.modelText('{"a":1}', { output: { a: 1 } })).toMatchObject({ output: { a: 1 } })
  })

  it("take the seed's input forms and refuse others", () => {
    expect(events.started({ message: 'hi' }).input).toEqual([{ role: 'user', content: 'hi' }])
    expect(() => events.started({ text: 'hi' } as never)).toThrow(TypeError)
  })

  it('docs/concepts.md: its reducer example runs as it says', async () => {
    const doc = await readFile(new URL('../../../docs/concepts.md', import.meta.url), 'utf8')
    const block = /## The reducer[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1] ?? ''
    const imports = /^import \{ (.+) \} from '@vel\/core'\n/.exec(block)
    expect(imports).not.toBeNull()
    const names = (imports?.[1] ?? '').split(', ')
    // The block with its import replaced by the same names from this build, returning its values.
    const body = `${block.slice(imports?.[0].length ?? 0)}\nreturn { state, commands, final }`
    const run = new Function(...names, body) as (...values: unknown[]) => {
      state: RunState
      commands: Command[]
      final: RunState
    }
    const exported = (await import('../src/index.ts')) as Record<string, unknown>
    const { state, commands, final } = run(...names.map((name) => exported[name]))
    expect(state.phase).toBe('thinking')
    expect(commands).toContainEqual({ type: 'call-model', step: 1, tools: true })
    expect(final.phase).toBe('completed')
    expect(final.answer).toBe('18 °C and clear in Tokyo.')
    expect(final).toEqual(stateFromEvents(walkThrough()))
  })
})
