import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assertWellFormedStream,
  type Command,
  emptyRunState,
  type Message,
  messagesForModel,
  type RunEvent,
  type RunState,
  type StreamPart,
  step,
} from '../src/index.ts'
import { calls, said, started } from './fixtures.ts'

/** Turns random choices into a mostly legal event for the current state (sometimes an illegal one). */
function nextEvent(state: RunState, choice: number, callCounter: number): RunEvent {
  const open = state.toolCalls.filter((call) => call.status !== 'done')
  const pick = <T>(items: T[]): T => items[choice % items.length] as T
  if (choice % 23 === 0) return { type: 'run.cancelled', reason: 'random' }
  if (choice % 29 === 0) return { type: 'tool.succeeded', toolCallId: 'nope', output: 1 }
  if (choice % 31 === 0) return { type: 'budget.exhausted', budget: 'time' }
  if (state.phase === 'thinking') {
    if (choice % 17 === 0)
      return {
        type: 'model.failed',
        error: { tag: 'ProviderError', reason: 'overloaded', message: 'x', retryable: true },
      }
    if (choice % 5 === 1 && state.messages.length > 2)
      return {
        type: 'context.summarized',
        upTo: 1 + ((choice >> 3) % state.messages.length),
        summary: `s${choice}`,
      }
    const count = choice % 4
    if (count === 0) return said(`answer ${choice}`)
    const actions = ['execute', 'approve', 'ask-human', 'reject', 'deny'] as const
    return calls(
      Array.from({ length: count }, (_, index) => ({
        id: `c${callCounter + index}`,
        plan: actions[(choice >> (index + 2)) % actions.length] ?? 'execute',
      })),
    )
  }
  const call = pick(open)
  if (call === undefined) return said('late')
  switch (call.status) {
    case 'queued':
      return choice % 3 === 0
        ? { type: 'tool.succeeded', toolCallId: call.toolCallId, output: choice }
        : { type: 'tool.started', toolCallId: call.toolCallId }
    case 'running':
      if (choice % 5 === 0) return { type: 'tool.interrupted', toolCallId: call.toolCallId }
      return choice % 2 === 0
        ? { type: 'tool.succeeded', toolCallId: call.toolCallId, output: choice }
        : { type: 'tool.failed', toolCallId: call.toolCallId, error: `failed ${choice % 3}` }
    case 'approval':
      return { type: 'approval.decided', toolCallId: call.toolCallId, approved: choice % 2 === 0 }
    default:
      return { type: 'human.responded', requestId: call.toolCallId, answer: `answer ${choice}` }
  }
}

interface Trace {
  events: RunEvent[]
  states: RunState[]
  commands: Command[]
}

function simulate(maxSteps: number, choices: number[], maxTokens?: number): Trace {
  const trace: Trace = { events: [], states: [], commands: [] }
  let state = emptyRunState
  let counter = 0
  const first = started(maxTokens === undefined ? { maxSteps } : { maxSteps, maxTokens })
  for (const event of [first, ...choices.map((choice) => ({ choice }))]) {
    const next: RunEvent = 'type' in event ? event : nextEvent(state, event.choice, counter)
    if (next.type === 'model.responded') counter += 4
    const [after, commands] = step(state, next)
    trace.events.push(next)
    trace.states.push(after)
    trace.commands.push(...commands)
    state = after
  }
  return trace
}

const traceArbitrary = fc.record({
  maxSteps: fc.integer({ min: 0, max: 5 }),
  choices: fc.array(fc.nat({ max: 10_000 }), { maxLength: 80 }),
  maxTokens: fc.option(fc.integer({ min: 10, max: 200 }), { nil: undefined }),
})

const finalState = (trace: Trace): RunState => trace.states.at(-1) ?? emptyRunState

describe('step: properties', () => {
  it('never throws and state always round-trips through JSON', () => {
    fc.assert(
      fc.property(traceArbitrary, ({ maxSteps, choices, maxTokens }) => {
        const trace = simulate(maxSteps, choices, maxTokens)
        for (const state of trace.states) expect(JSON.parse(JSON.stringify(state))).toEqual(state)
      }),
      { numRuns: 300 },
    )
  })

  it('replaying the same events gives the same state and commands', () => {
    fc.assert(
      fc.property(traceArbitrary, ({ maxSteps, choices, maxTokens }) => {
        const trace = simulate(maxSteps, choices, maxTokens)
        let state = emptyRunState
        const commands: Command[] = []
        for (const event of trace.events) {
          const [next, more] = step(state, JSON.parse(JSON.stringify(event)) as RunEvent)
          state = next
          commands.push(...more)
        }
        expect(state).toEqual(finalState(trace))
        expect(commands).toEqual(trace.commands)
      }),
      { numRuns: 200 },
    )
  })

  it('at every terminal state, every tool call has exactly one result', () => {
    fc.assert(
      fc.property(traceArbitrary, ({ maxSteps, choices, maxTokens }) => {
        const state = finalState(simulate(maxSteps, choices, maxTokens))
        if (!['completed', 'failed', 'cancelled'].includes(state.phase)) return
        const callIds = state.messages.flatMap((message: Message) =>
          message.role === 'assistant'
            ? message.content.flatMap((part) => (part.type === 'tool-call' ? [part.id] : []))
            : [],
        )
        const resultIds = state.messages.flatMap((message: Message) =>
          message.role === 'tool' ? message.content.map((part) => part.toolCallId) : [],
        )
        expect([...resultIds].sort()).toEqual([...callIds].sort())
        expect(new Set(resultIds).size).toBe(resultIds.length)
      }),
      { numRuns: 300 },
    )
  })

  it('the context a model call gets never holds a tool result whose call is not in it', () => {
    fc.assert(
      fc.property(traceArbitrary, ({ maxSteps, choices, maxTokens }) => {
        for (const state of simulate(maxSteps, choices, maxTokens).states) {
          if (state.phase !== 'thinking') continue
          const sent = messagesForModel(state)
          const asked = new Set(
            sent.flatMap((message) =>
              message.role === 'assistant'
                ? message.content.flatMap((part) => (part.type === 'tool-call' ? [part.id] : []))
                : [],
            ),
          )
          for (const message of sent)
            if (message.role === 'tool')
              for (const part of message.content) expect(asked.has(part.toolCallId)).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('never calls the model more than maxSteps + 1 times', () => {
    fc.assert(
      fc.property(traceArbitrary, ({ maxSteps, choices, maxTokens }) => {
        const trace = simulate(maxSteps, choices, maxTokens)
        const modelCalls = trace.commands.filter((command) => command.type === 'call-model').length
        expect(modelCalls).toBeLessThanOrEqual(maxSteps + 1)
      }),
      { numRuns: 300 },
    )
  })

  it('the emitted stream of every finished run is well formed', () => {
    fc.assert(
      fc.property(traceArbitrary, ({ maxSteps, choices, maxTokens }) => {
        const trace = simulate(maxSteps, choices, maxTokens)
        if (!['completed', 'failed', 'cancelled'].includes(finalState(trace).phase)) return
        const parts: StreamPart[] = trace.commands.flatMap((command) =>
          command.type === 'emit' ? command.parts : [],
        )
        assertWellFormedStream(parts)
      }),
      { numRuns: 300 },
    )
  })

  it('the generator reaches every terminal phase (so the properties above are not vacuous)', () => {
    const phases = new Set<string>()
    let summarized = 0
    for (const sample of fc.sample(traceArbitrary, { numRuns: 400, seed: 7 })) {
      const trace = simulate(sample.maxSteps, sample.choices, sample.maxTokens)
      phases.add(finalState(trace).phase)
      if (trace.states.some((state) => state.summary !== undefined)) summarized += 1
    }
    expect(summarized).toBeGreaterThan(4)
    expect([...phases].sort()).toEqual(expect.arrayContaining(['cancelled', 'completed', 'failed']))
  })
})
