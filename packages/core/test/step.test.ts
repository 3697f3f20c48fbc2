import { describe, expect, it } from 'vitest'
import {
  type Command,
  emptyRunState,
  interruptedToolCalls,
  partsFromEvents,
  type RunEvent,
  type RunState,
  resumeCommands,
  type StreamPart,
  step,
} from '../src/index.ts'
import { calls, said, started, usage } from './fixtures.ts'

const fold = (events: RunEvent[], from: RunState = emptyRunState): [RunState, Command[]] => {
  let state = from
  let last: Command[] = []
  for (const event of events) [state, last] = step(state, event)
  return [state, last]
}

const emitted = (commands: Command[]): StreamPart[] =>
  commands.flatMap((command) => (command.type === 'emit' ? command.parts : []))

const types = (commands: Command[]): string[] => commands.map((command) => command.type)

describe('step: run start', () => {
  it('puts instructions, history and input in order and asks the model with tools', () => {
    const [state, commands] = step(
      emptyRunState,
      started(
        {},
        {
          instructions: 'Be brief.',
          history: [
            { role: 'user', content: 'earlier' },
            { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
          ],
        },
      ),
    )
    expect(state).toEqual({
      ...emptyRunState,
      runId: 'run-1',
      agentId: 'agent',
      sessionId: 's-1',
      phase: 'thinking',
      startedAt: 1000,
      priorCount: 3,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
        { role: 'user', content: 'hi' },
      ],
    })
    expect(commands).toEqual([
      { type: 'emit', parts: [{ type: 'start', messageId: 'run-1' }, { type: 'start-step' }] },
      { type: 'call-model', step: 1, tools: true },
    ])
  })

  it('rejects a second start and events before the start without changing state', () => {
    const [state] = step(emptyRunState, started())
    expect(step(state, started())).toEqual([
      state,
      [{ type: 'reject', eventType: 'run.started', reason: 'run already started' }],
    ])
    expect(step(emptyRunState, said('x'))[0]).toBe(emptyRunState)
    expect(types(step(emptyRunState, said('x'))[1])).toEqual(['reject'])
  })

  it('with maxSteps 0 makes one tool-less call', () => {
    const [state, commands] = step(emptyRunState, started({ maxSteps: 0 }))
    expect(state.finalizing).toBe(true)
    expect(commands[1]).toEqual({ type: 'call-model', step: 1, tools: false })
  })
})

describe('step: model responses', () => {
  it('a text answer completes the run', () => {
    const [state, commands] = fold([started(), said('hello')])
    expect(state.phase).toBe('completed')
    expect(state.answer).toBe('hello')
    expect(state.step).toBe(1)
    expect(state.usage).toEqual(usage())
    expect(commands).toEqual([
      {
        type: 'emit',
        parts: [
          { type: 'text-start', id: '1-0' },
          { type: 'text-delta', id: '1-0', delta: 'hello' },
          { type: 'text-end', id: '1-0' },
          { type: 'finish-step' },
          { type: 'finish', finishReason: 'stop' },
        ],
      },
      { type: 'finish', phase: 'completed', answer: 'hello', error: null },
    ])
  })

  it('does not re-emit text that was streamed live, and prefers a structured output', () => {
    const event = { ...said('{"a":1}'), streamed: true, output: { a: 1 } } as RunEvent
    const [state, commands] = fold([started(), event])
    expect(state.answer).toEqual({ a: 1 })
    expect(emitted(commands)).toEqual([{ type: 'finish-step' }, { type: 'finish', finishReason: 'stop' }])
  })

  it('parallel tool calls are all queued and the model waits for every result', () => {
    const [state, commands] = fold([started(), calls([{ id: 'c1' }, { id: 'c2', input: { a: 2, b: 2 } }])])
    expect(state.phase).toBe('acting')
    expect(state.toolCalls.map((call) => [call.toolCallId, call.status])).toEqual([
      ['c1', 'queued'],
      ['c2', 'queued'],
    ])
    expect(commands).toEqual([
      {
        type: 'emit',
        parts: [
          { type: 'tool-input-available', toolCallId: 'c1', toolName: 'add', input: { a: 1, b: 2 } },
          { type: 'tool-input-available', toolCallId: 'c2', toolName: 'add', input: { a: 2, b: 2 } },
        ],
      },
      {
        type: 'call-tool',
        toolCallId: 'c1',
        toolName: 'add',
        input: { a: 1, b: 2 },
        idempotencyKey: 'run-1:c1',
      },
      {
        type: 'call-tool',
        toolCallId: 'c2',
        toolName: 'add',
        input: { a: 2, b: 2 },
        idempotencyKey: 'run-1:c2',
      },
    ])
    const [afterFirst, first] = fold(
      [
        { type: 'tool.started', toolCallId: 'c1' },
        { type: 'tool.succeeded', toolCallId: 'c1', output: 3 },
      ],
      state,
    )
    expect(afterFirst.phase).toBe('acting')
    expect(first).toEqual([
      { type: 'emit', parts: [{ type: 'tool-output-available', toolCallId: 'c1', output: 3 }] },
    ])
    const [afterBoth, second] = step(afterFirst, { type: 'tool.succeeded', toolCallId: 'c2', output: 4 })
    expect(afterBoth.phase).toBe('thinking')
    expect(afterBoth.toolCalls).toEqual([])
    expect(afterBoth.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'c1', toolName: 'add', output: 3 },
        { type: 'tool-result', toolCallId: 'c2', toolName: 'add', output: 4 },
      ],
    })
    expect(second).toEqual([
      {
        type: 'emit',
        parts: [
          { type: 'tool-output-available', toolCallId: 'c2', output: 4 },
          { type: 'finish-step' },
          { type: 'start-step' },
        ],
      },
      { type: 'call-model', step: 2, tools: true },
    ])
  })

  it('a rejected call (invalid input) becomes an error result the model reads', () => {
    const [state, commands] = fold([started(), calls([{ id: 'c1', plan: 'reject' }])])
    expect(state.phase).toBe('thinking')
    expect(state.toolErrors).toBe(1)
    expect(state.messages.at(-1)).toEqual({
      role: 'tool',
      content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'add', error: 'bad input' }],
    })
    expect(emitted(commands)[0]).toEqual({
      type: 'tool-input-error',
      toolCallId: 'c1',
      toolName: 'add',
      input: { a: 1, b: 2 },
      errorText: 'bad input',
    })
    expect(commands.at(-1)).toEqual({ type: 'call-model', step: 2, tools: true })
  })

  it('a call the guard denied gets a denied output and an error result the model reads; it never runs', () => {
    const [state, commands] = fold([started(), calls([{ id: 'c1', plan: 'deny' }, { id: 'c2' }])])
    expect(state.phase).toBe('acting')
    expect(state.toolCalls[0]).toMatchObject({ status: 'done', sideEffects: 'none' })
    expect(state.toolCalls[0]?.result).toEqual({
      type: 'tool-result',
      toolCallId: 'c1',
      toolName: 'add',
      error: 'Denied by policy: outside business hours. Do not retry this call unchanged.',
    })
    expect(emitted(commands).slice(0, 2)).toEqual([
      { type: 'tool-input-available', toolCallId: 'c1', toolName: 'add', input: { a: 1, b: 2 } },
      { type: 'tool-output-denied', toolCallId: 'c1' },
    ])
    const toolCommands = commands.filter((command) => command.type === 'call-tool')
    expect(toolCommands.map((command) => command.toolCallId)).toEqual(['c2'])
  })

  it('a tool call without a plan is rejected rather than run', () => {
    const event = { ...calls([{ id: 'c1' }]), plan: [] } as RunEvent
    const [state] = fold([started(), event])
    expect(state.messages.at(-1)).toMatchObject({ content: [{ error: 'No plan for this tool call.' }] })
  })
})

describe('step: context summaries', () => {
  const asked = fold([started(), calls([{ id: 'c1' }])])[0]
  const answered = step(step(asked, { type: 'tool.started', toolCallId: 'c1' })[0], {
    type: 'tool.succeeded',
    toolCallId: 'c1',
    output: 3,
  })[0]

  it('records the summary and its usage while the model call waits; no command, no part', () => {
    // [user 'hi', assistant call c1, tool result c1]: the boundary moves past the result.
    const [state, commands] = step(answered, {
      type: 'context.summarized',
      upTo: 1,
      summary: 'asked for 1 + 2',
      usage: usage(7, 3),
    })
    expect(commands).toEqual([])
    expect(state.summary).toEqual({ upTo: 1, text: 'asked for 1 + 2' })
    expect(state.usage.inputTokens).toBe(answered.usage.inputTokens + 7)
    expect(state.messages).toBe(answered.messages)
  })

  it('rejects a summary that covers nothing new, everything, or comes outside a model call', () => {
    const [once] = step(answered, { type: 'context.summarized', upTo: 1, summary: 's' })
    for (const [state, upTo] of [
      [once, 1],
      [answered, 0],
      [answered, answered.messages.length],
      [answered, 1.5],
      [asked, 1],
    ] as const) {
      const [next, commands] = step(state, { type: 'context.summarized', upTo, summary: 's' })
      expect(next).toBe(state)
      expect(types(commands)).toEqual(['reject'])
    }
  })
})

describe('step: handoff', () => {
  it('a final tool that succeeds ends the run with its output as the answer', () => {
    const [state, commands] = fold([
      started(),
      calls([
        { id: 'h', name: 'handoff', plan: { action: 'execute', sideEffects: 'idempotent', final: true } },
      ]),
      { type: 'tool.succeeded', toolCallId: 'h', output: 'the specialist answered' },
    ])
    expect(state.phase).toBe('completed')
    expect(state.answer).toBe('the specialist answered')
    expect(commands.at(-1)).toEqual({
      type: 'finish',
      phase: 'completed',
      answer: 'the specialist answered',
      error: null,
    })
  })

  it('a final tool that fails goes back to the model', () => {
    const [state] = fold([
      started(),
      calls([
        { id: 'h', name: 'handoff', plan: { action: 'execute', sideEffects: 'idempotent', final: true } },
      ]),
      { type: 'tool.failed', toolCallId: 'h', error: 'specialist unavailable' },
    ])
    expect(state.phase).toBe('thinking')
  })
})

describe('step: tool failures', () => {
  it('compacts a failure into a size-capped error result', () => {
    const [state, commands] = fold([
      started({ maxErrorChars: 40 }),
      calls([{ id: 'c1' }]),
      { type: 'tool.started', toolCallId: 'c1' },
      { type: 'tool.failed', toolCallId: 'c1', error: 'x'.repeat(500) },
    ])
    const result = state.messages.at(-1)
    expect(result?.role).toBe('tool')
    const error = (result as unknown as { content: [{ error: string }] }).content[0].error
    expect(error.length).toBeLessThanOrEqual(40)
    expect(error).toMatch(/more chars\)$/)
    expect(emitted(commands)[0]).toEqual({ type: 'tool-output-error', toolCallId: 'c1', errorText: error })
  })

  it('rejects a result for an unknown or finished call', () => {
    const [state] = fold([
      started(),
      calls([{ id: 'c1' }]),
      { type: 'tool.succeeded', toolCallId: 'c1', output: 1 },
    ])
    const [same, commands] = step(state, { type: 'tool.succeeded', toolCallId: 'c1', output: 2 })
    expect(same).toBe(state)
    expect(types(commands)).toEqual(['reject'])
  })
})

describe('step: approvals', () => {
  const asked = fold([started({ approvalTimeoutMs: 500 }), calls([{ id: 'c1', plan: 'approve' }])])

  it('a tool needing approval pauses the run with a request', () => {
    const [state, commands] = asked
    expect(state.phase).toBe('waiting')
    const request = {
      requestId: 'c1',
      kind: 'approval',
      toolName: 'add',
      input: { a: 1, b: 2 },
      requestedAt: 2000,
      expiresAt: 2500,
    }
    expect(state.pending).toEqual([request])
    expect(commands).toEqual([
      {
        type: 'emit',
        parts: [
          { type: 'tool-input-available', toolCallId: 'c1', toolName: 'add', input: { a: 1, b: 2 } },
          { type: 'tool-approval-request', approvalId: 'c1', toolCallId: 'c1' },
        ],
      },
      { type: 'request-approval', request },
    ])
  })

  it('approved: the tool runs', () => {
    const [state, commands] = step(asked[0], {
      type: 'approval.decided',
      toolCallId: 'c1',
      approved: true,
      by: 'ana',
    })
    expect(state.phase).toBe('acting')
    expect(state.pending).toEqual([])
    expect(commands).toEqual([
      {
        type: 'call-tool',
        toolCallId: 'c1',
        toolName: 'add',
        input: { a: 1, b: 2 },
        idempotencyKey: 'run-1:c1',
      },
    ])
  })

  it('denied: a synthetic denied result, and the model is asked again', () => {
    const [state, commands] = step(asked[0], {
      type: 'approval.decided',
      toolCallId: 'c1',
      approved: false,
      reason: 'too risky',
    })
    expect(state.phase).toBe('thinking')
    expect(state.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'add',
          error: 'Denied by a human: too risky. Do not retry this call unchanged.',
        },
      ],
    })
    expect(emitted(commands)[0]).toEqual({ type: 'tool-output-denied', toolCallId: 'c1' })
    expect(commands.at(-1)).toEqual({ type: 'call-model', step: 2, tools: true })
  })

  it('a decision for a call that is not waiting is rejected', () => {
    const [state] = fold([started(), calls([{ id: 'c1' }])])
    expect(types(step(state, { type: 'approval.decided', toolCallId: 'c1', approved: true })[1])).toEqual([
      'reject',
    ])
  })

  it('one call runs while another waits for approval', () => {
    const [state] = fold([started(), calls([{ id: 'c1' }, { id: 'c2', plan: 'approve' }])])
    expect(state.phase).toBe('acting')
    const [after] = step(state, { type: 'tool.succeeded', toolCallId: 'c1', output: 3 })
    expect(after.phase).toBe('waiting')
  })
})

describe('step: contacting a human', () => {
  it('asks, waits, and the answer is the tool result', () => {
    const [state, commands] = fold([
      started(),
      calls([{ id: 'q1', name: 'contactHuman', plan: 'ask-human' }]),
    ])
    expect(state.phase).toBe('waiting')
    expect(commands.at(-1)).toMatchObject({
      type: 'contact-human',
      request: { requestId: 'q1', question: 'Which one?' },
    })
    expect(emitted(commands)).toContainEqual({
      type: 'data-vel-human-request',
      id: 'q1',
      data: { requestId: 'q1', question: 'Which one?' },
    })
    const [answered, next] = step(state, { type: 'human.responded', requestId: 'q1', answer: 'the blue one' })
    expect(answered.phase).toBe('thinking')
    expect(answered.messages.at(-1)).toEqual({
      role: 'tool',
      content: [{ type: 'tool-result', toolCallId: 'q1', toolName: 'contactHuman', output: 'the blue one' }],
    })
    expect(next.at(-1)).toEqual({ type: 'call-model', step: 2, tools: true })
  })
})

describe('step: limits', () => {
  it('maxSteps: after the last tool step, one tool-less call, then finish', () => {
    const [state, commands] = fold([
      started({ maxSteps: 1 }),
      calls([{ id: 'c1' }]),
      { type: 'tool.succeeded', toolCallId: 'c1', output: 3 },
    ])
    expect(state.finalizing).toBe(true)
    expect(commands.at(-1)).toEqual({ type: 'call-model', step: 2, tools: false })
    // The model ignores the instruction and calls a tool anyway: it gets a synthetic result.
    const [done] = step(state, calls([{ id: 'c2' }], 'summary'))
    expect(done.phase).toBe('completed')
    expect(done.answer).toBe('summary')
    expect(done.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c2',
          toolName: 'add',
          error: 'Not run: the step limit was reached.',
        },
      ],
    })
  })

  it('token budget exceeded fails the run gracefully with settled tool calls', () => {
    const [state, commands] = fold([started({ maxTokens: 10 }), calls([{ id: 'c1' }])])
    expect(state.phase).toBe('failed')
    expect(state.error).toMatchObject({ tag: 'RunError', reason: 'budget-exceeded' })
    expect(state.messages.at(-1)).toMatchObject({ role: 'tool', content: [{ toolCallId: 'c1' }] })
    expect(emitted(commands).map((part) => part.type)).toEqual([
      'tool-input-available',
      'tool-output-error',
      'finish-step',
      'error',
      'finish',
    ])
    expect(commands.at(-1)).toMatchObject({ type: 'finish', phase: 'failed' })
  })

  it('a time budget exhausted mid-tool fails the run and settles open calls', () => {
    const [state, commands] = fold([
      started(),
      calls([{ id: 'c1' }]),
      { type: 'tool.started', toolCallId: 'c1' },
      { type: 'budget.exhausted', budget: 'time' },
    ])
    expect(state.phase).toBe('failed')
    expect(types(commands)).toEqual(['abort-inflight', 'emit', 'finish'])
    expect(state.messages.at(-1)).toMatchObject({
      content: [{ error: 'Not run: the time budget was exhausted.' }],
    })
  })
})

describe('step: cancellation and failure', () => {
  it('cancel mid-model: abort then finish', () => {
    const [state, commands] = fold([started(), { type: 'run.cancelled', reason: 'user left' }])
    expect(state.phase).toBe('cancelled')
    expect(commands).toEqual([
      { type: 'abort-inflight', reason: 'user left' },
      {
        type: 'emit',
        parts: [
          { type: 'finish-step' },
          { type: 'abort', reason: 'user left' },
          { type: 'finish', finishReason: 'other' },
        ],
      },
      { type: 'finish', phase: 'cancelled', answer: null, error: null },
    ])
  })

  it('cancel mid-tool: every open call gets a synthetic result', () => {
    const [state] = fold([
      started(),
      calls([{ id: 'c1' }, { id: 'c2', plan: 'approve' }]),
      { type: 'tool.started', toolCallId: 'c1' },
      { type: 'run.cancelled' },
    ])
    expect(state.pending).toEqual([])
    expect(state.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'c1', toolName: 'add', error: 'Cancelled before it finished.' },
        { type: 'tool-result', toolCallId: 'c2', toolName: 'add', error: 'Cancelled before it finished.' },
      ],
    })
  })

  it('events after the end are rejected', () => {
    const [state] = fold([started(), { type: 'run.cancelled' }])
    expect(step(state, said('late'))).toEqual([
      state,
      [{ type: 'reject', eventType: 'model.responded', reason: 'run is cancelled' }],
    ])
  })

  it('model failure after retries fails the run with the typed error', () => {
    const error = { tag: 'ProviderError', reason: 'overloaded', message: 'busy', retryable: true }
    const [state, commands] = fold([started(), { type: 'model.failed', error }])
    expect(state.phase).toBe('failed')
    expect(state.error).toEqual(error)
    expect(emitted(commands)).toEqual([
      { type: 'finish-step' },
      { type: 'error', errorText: 'overloaded: busy' },
      { type: 'finish', finishReason: 'error' },
    ])
  })
})

describe('step: crash recovery', () => {
  const running = fold([
    started(),
    calls([
      { id: 'c1', plan: { action: 'execute', sideEffects: 'unsafe' } },
      { id: 'c2', plan: { action: 'execute', sideEffects: 'idempotent' } },
    ]),
    { type: 'tool.started', toolCallId: 'c1' },
    { type: 'tool.started', toolCallId: 'c2' },
  ])[0]

  it('lists calls that started without a result', () => {
    expect(interruptedToolCalls(running)).toEqual(['c1', 'c2'])
    expect(resumeCommands(running)).toEqual([])
  })

  it('an interrupted unsafe tool is not re-run: its outcome is unknown', () => {
    const [state, commands] = step(running, { type: 'tool.interrupted', toolCallId: 'c1' })
    expect(state.toolCalls[0]?.result).toMatchObject({
      error: expect.stringMatching(/outcome of 'add' is unknown/),
    })
    expect(types(commands)).toEqual(['emit'])
  })

  it('an interrupted idempotent tool is re-run with the same idempotency key', () => {
    const [state, commands] = step(running, { type: 'tool.interrupted', toolCallId: 'c2' })
    expect(state.toolCalls[1]?.status).toBe('queued')
    expect(commands).toEqual([
      {
        type: 'call-tool',
        toolCallId: 'c2',
        toolName: 'add',
        input: { a: 1, b: 2 },
        idempotencyKey: 'run-1:c2',
      },
    ])
  })

  it('resume commands: the pending model call, queued tools and open human requests', () => {
    expect(resumeCommands(fold([started()])[0])).toEqual([{ type: 'call-model', step: 1, tools: true }])
    const [waiting] = fold([started(), calls([{ id: 'c1' }, { id: 'c2', plan: 'approve' }])])
    expect(types(resumeCommands(waiting))).toEqual(['call-tool', 'request-approval'])
    expect(resumeCommands(fold([started(), said('x')])[0])).toEqual([])
  })
})

describe('partsFromEvents', () => {
  it('rebuilds the whole stream, text included, from journaled events', () => {
    const events: RunEvent[] = [
      started(),
      { ...calls([{ id: 'c1' }], 'let me add'), streamed: true } as RunEvent,
      { type: 'tool.started', toolCallId: 'c1' },
      { type: 'tool.succeeded', toolCallId: 'c1', output: 3 },
      { ...said('3'), streamed: true } as RunEvent,
    ]
    expect(partsFromEvents(events).map((part) => part.type)).toEqual([
      'start',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'tool-input-available',
      'tool-output-available',
      'finish-step',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ])
  })
})

describe('step: purity', () => {
  it('never mutates its input state', () => {
    const [state] = fold([started(), calls([{ id: 'c1' }])])
    const frozen = JSON.parse(JSON.stringify(state))
    step(state, { type: 'tool.succeeded', toolCallId: 'c1', output: 3 })
    expect(state).toEqual(frozen)
  })

  it('rejects an unknown event type', () => {
    const [state] = fold([started()])
    expect(step(state, { type: 'model.exploded' } as unknown as RunEvent)).toEqual([
      state,
      [{ type: 'reject', eventType: 'model.exploded', reason: 'unknown event type "model.exploded"' }],
    ])
  })

  it('answers a malformed event (violating the types) with reject, not a throw', () => {
    const [state] = fold([started()])
    const bad = { type: 'model.responded', message: null } as unknown as RunEvent
    expect(step(state, bad)).toEqual([state, [expect.objectContaining({ type: 'reject' })]])
  })
})
