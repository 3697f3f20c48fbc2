import { describe, expect, it } from 'vitest'
import {
  type Command,
  emptyRunState,
  events,
  type RunEvent,
  type RunState,
  type StreamPart,
  stateFromEvents,
  step,
} from '../src/index.ts'
import { calls, said, started, usage } from './fixtures.ts'

const fold = (list: RunEvent[], from: RunState = emptyRunState): [RunState, Command[]] => {
  let state = from
  let last: Command[] = []
  for (const event of list) [state, last] = step(state, event)
  return [state, last]
}

const emitted = (commands: Command[]): StreamPart[] =>
  commands.flatMap((command) => (command.type === 'emit' ? command.parts : []))

const childPart = (childRunId: string, part: StreamPart): StreamPart => ({
  type: 'data-vel-child',
  data: { runId: childRunId, part: part as never },
})

/** A run whose one tool call `c1` (a child agent) is running. */
const supervising = (policy: Parameters<typeof started>[0] = {}) =>
  stateFromEvents([
    started(policy),
    calls([{ id: 'c1', name: 'child', input: { input: 'go' } }]),
    { type: 'tool.started', toolCallId: 'c1' },
  ])

describe('step: child.reported (supervision)', () => {
  it('puts the child parts in the stream and charges steps and tokens to the run', () => {
    const text = childPart('kid', { type: 'text-delta', id: '1-0', delta: 'hello' })
    const [state, commands] = step(
      supervising(),
      events.childReported('c1', 'kid', 3, { parts: [text], steps: 1, usage: usage(7, 3) }),
    )
    expect(commands).toEqual([{ type: 'emit', parts: [text] }])
    expect(state.children).toEqual({ kid: 3 })
    expect(state.charged).toEqual({ steps: 1, usage: usage(7, 3), costUsd: 0 })
    // The run's own usage is its own: what descendants used is kept apart.
    expect(state.usage).toEqual(usage())
    expect(state.phase).toBe('acting')
  })

  it('rejects a report for a call that is not running, and a report at or before the last seq', () => {
    const queued = stateFromEvents([started(), calls([{ id: 'c1' }])])
    expect(step(queued, events.childReported('c1', 'kid', 1))[1]).toMatchObject([
      { type: 'reject', reason: 'tool call c1 is not running' },
    ])
    const [reported] = step(supervising(), events.childReported('c1', 'kid', 4))
    for (const seq of [4, 2])
      expect(step(reported, events.childReported('c1', 'kid', seq))[1]).toMatchObject([
        { type: 'reject', reason: 'child kid is reported up to 4 already' },
      ])
    expect(step(reported, events.childReported('c1', 'other', 1))[0].children).toEqual({ kid: 4, other: 1 })
  })

  it('descendants going past maxSteps stop the children and leave one tool-less summarizing call', () => {
    // One own step plus 2 charged = 3 = maxSteps: still within; the next report goes past it.
    const [within, quiet] = fold(
      [events.childReported('c1', 'kid', 2, { steps: 2 })],
      supervising({ maxSteps: 3 }),
    )
    expect(quiet).toEqual([])
    const [state, commands] = step(within, events.childReported('c1', 'kid', 3, { steps: 1 }))
    const note = 'Stopped: the step budget of this run and its children was exhausted.'
    expect(commands).toEqual([
      { type: 'abort-inflight', reason: note },
      {
        type: 'emit',
        parts: [
          { type: 'tool-output-error', toolCallId: 'c1', errorText: note },
          { type: 'finish-step' },
          { type: 'start-step' },
        ],
      },
      { type: 'call-model', step: 2, tools: false },
    ])
    expect(state).toMatchObject({ phase: 'thinking', finalizing: true, toolCalls: [] })
    expect(state.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: [{ toolCallId: 'c1', error: note }],
    })
    const [done] = step(state, said('Here is what I have.'))
    expect(done).toMatchObject({ phase: 'completed', answer: 'Here is what I have.' })
  })

  it('a pipeline (countOwnSteps: false) counts only its children toward maxSteps', () => {
    const [within, quiet] = fold(
      [events.childReported('c1', 'kid', 2, { steps: 2 })],
      supervising({ maxSteps: 2, countOwnSteps: false }),
    )
    expect(quiet).toEqual([])
    expect(within.finalizing).toBe(false)
    const [, commands] = step(within, events.childReported('c1', 'kid', 3, { steps: 1 }))
    expect(commands.map((command) => command.type)).toEqual(['abort-inflight', 'emit', 'call-model'])
    // A resolved step at exactly the budget: the next call is tool-less (as with the run's own steps).
    const [atBudget] = fold([{ type: 'tool.succeeded', toolCallId: 'c1', output: 'ok' }], within)
    expect(atBudget).toMatchObject({ phase: 'thinking', finalizing: true })
  })

  it('descendants going past maxTokens stop the children; the summarizing call is not failed for it', () => {
    const [state, commands] = step(
      supervising({ maxTokens: 40 }),
      events.childReported('c1', 'kid', 5, { steps: 1, usage: usage(20, 10) }),
    )
    expect(commands[0]).toEqual({
      type: 'abort-inflight',
      reason: 'Stopped: the token budget of this run and its children was exhausted.',
    })
    expect(commands.at(-1)).toEqual({ type: 'call-model', step: 2, tools: false })
    const [done] = step(state, said('summary'))
    expect(done).toMatchObject({ phase: 'completed', answer: 'summary' })
    // The run's own call going past its budget still fails it.
    const [own] = fold([started({ maxTokens: 10 }), said('too long')])
    expect(own.error).toMatchObject({ reason: 'budget-exceeded' })
  })

  it('descendants whose cost reaches maxCostUsd are stopped; the run counts its own cost with theirs', () => {
    // Own: the first response's 15 tokens at $1 per million input and output = $0.000015.
    const price = { inputPerMTok: 1, outputPerMTok: 1 }
    const state = supervising({ maxCostUsd: 0.001, price })
    const [within, quiet] = step(state, events.childReported('c1', 'kid', 2, { costUsd: 0.0009 }))
    expect(quiet).toEqual([])
    expect(within.charged?.costUsd).toBe(0.0009)
    const [, commands] = step(within, events.childReported('c1', 'kid', 3, { costUsd: 0.0001 }))
    expect(commands[0]).toEqual({
      type: 'abort-inflight',
      reason: 'Stopped: the cost budget of this run and its children was exhausted.',
    })
    expect(commands.at(-1)).toEqual({ type: 'call-model', step: 2, tools: false })
    // A run with no price of its own (a pipeline's planner) is still bounded by its children's cost.
    const [, unpriced] = step(
      supervising({ maxCostUsd: 0.001 }),
      events.childReported('c1', 'kid', 2, { costUsd: 0.002 }),
    )
    expect(unpriced[0]).toMatchObject({ type: 'abort-inflight' })
  })

  it('an approval pending beside the child is settled too when the budget runs out', () => {
    const state = stateFromEvents([
      started({ maxSteps: 1 }),
      calls([
        { id: 'c1', name: 'child' },
        { id: 'c2', plan: 'approve' },
      ]),
      { type: 'tool.started', toolCallId: 'c1' },
    ])
    expect(state.pending).toHaveLength(1)
    const [stopped, commands] = step(state, events.childReported('c1', 'kid', 2, { steps: 1 }))
    expect(stopped.pending).toEqual([])
    expect(emitted(commands).filter((part) => part.type === 'tool-output-error')).toHaveLength(2)
  })

  it('the charge lives in the state as plain JSON and adds up over reports', () => {
    const list: RunEvent[] = [
      started({ maxSteps: 4 }),
      calls([{ id: 'c1', name: 'child' }]),
      { type: 'tool.started', toolCallId: 'c1' },
      events.childReported('c1', 'kid', 2, { steps: 2, usage: usage(1, 1) }),
      events.childReported('c1', 'kid', 4, { steps: 3, usage: usage(1, 1) }),
    ]
    const once = stateFromEvents(list)
    expect(JSON.parse(JSON.stringify(once))).toEqual(once)
    expect(once.charged).toEqual({ steps: 5, usage: usage(2, 2), costUsd: 0 })
    expect(once.finalizing).toBe(true)
  })

  it('records the root of a child run', () => {
    const [state] = step(emptyRunState, started({}, { parentRunId: 'parent', rootRunId: 'root' }))
    expect(state).toMatchObject({ parentRunId: 'parent', rootRunId: 'root' })
  })
})
