import { type Command, emptyRunState, type RunEvent, type RunState, step } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createActor } from 'xstate'
import { agentMachine } from '../src/agent-machine.ts'

const started: RunEvent = {
  type: 'run.started',
  runId: 'r',
  agentId: 'a',
  input: [{ role: 'user', content: 'hi' }],
  at: 1,
}
const toolCall: RunEvent = {
  type: 'model.responded',
  message: { role: 'assistant', content: [{ type: 'tool-call', id: 'c1', name: 'charge', input: {} }] },
  usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
  finishReason: 'tool-calls',
  plan: [{ toolCallId: 'c1', action: 'approve', sideEffects: 'unsafe' }],
}

const actorFrom = (state: RunState, executed: Command[] = []) => {
  const actor = createActor(agentMachine, {
    input: {
      state,
      execute: async (command) => {
        executed.push(command)
      },
    },
  })
  actor.start()
  return actor
}

describe('agentMachine', () => {
  it('mirrors the reducer phase in its state and spawns executors for model and tool commands', () => {
    const executed: Command[] = []
    const actor = actorFrom(emptyRunState, executed)
    expect(actor.getSnapshot().value).toBe('idle')
    actor.send(started)
    expect(actor.getSnapshot().value).toBe('thinking')
    expect(executed).toEqual([{ type: 'call-model', step: 1, tools: true }])
    actor.send(toolCall)
    expect(actor.getSnapshot().value).toBe('waiting')
    actor.send({ type: 'approval.decided', toolCallId: 'c1', approved: true })
    expect(actor.getSnapshot().value).toBe('acting')
    expect(executed.at(-1)).toMatchObject({ type: 'call-tool', toolCallId: 'c1' })
    actor.send({ type: 'run.cancelled' })
    expect(actor.getSnapshot().status).toBe('done')
    expect(actor.getSnapshot().value).toBe('cancelled')
  })

  it('its state is exactly the reducer applied to the events', () => {
    const events: RunEvent[] = [
      started,
      toolCall,
      { type: 'approval.decided', toolCallId: 'c1', approved: false },
    ]
    const actor = actorFrom(emptyRunState)
    let expected = emptyRunState
    for (const event of events) {
      actor.send(event)
      expected = step(expected, event)[0]
      expect(actor.getSnapshot().context.state).toEqual(expected)
    }
  })

  it('rehydrates from a JSON round trip of the run state into the matching machine state', () => {
    const [afterStart] = step(emptyRunState, started)
    const [waiting] = step(afterStart, toolCall)
    const restored = JSON.parse(JSON.stringify(waiting)) as RunState
    const actor = actorFrom(restored)
    expect(actor.getSnapshot().value).toBe('waiting')
    actor.send({ type: 'approval.decided', toolCallId: 'c1', approved: true })
    expect(actor.getSnapshot().value).toBe('acting')
  })

  it('ignores XState-internal events and rejects illegal ones without changing state', () => {
    const actor = actorFrom(emptyRunState)
    actor.send(started)
    const before = actor.getSnapshot().context.state
    actor.send({ type: 'tool.succeeded', toolCallId: 'nope', output: 1 })
    expect(actor.getSnapshot().context.state).toBe(before)
    expect(actor.getSnapshot().context.commands).toEqual([
      { type: 'reject', eventType: 'tool.succeeded', reason: 'tool call nope is not running' },
    ])
  })
})
