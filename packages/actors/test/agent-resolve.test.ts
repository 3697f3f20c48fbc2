import { defineTool, type JsonObject, type LanguageModel, type ToolCallPart } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { resolveAgent } from '../src/agent-resolve.ts'

const model: LanguageModel = {
  provider: 'test',
  modelId: 'none',
  // biome-ignore lint/correctness/useYield: never called, the tests only plan
  async *stream() {
    throw new Error('not called')
  },
}

const numbers: JsonObject = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }

const add = defineTool({ name: 'add', description: 'Adds.', input: numbers, handler: () => 1 })
const handoff = defineTool({
  name: 'handoff',
  description: 'Ends the run.',
  input: numbers,
  handler: () => 'done',
  final: true,
  sideEffects: 'idempotent',
})
const call = (id: string, name: string, input: unknown): ToolCallPart =>
  ({ type: 'tool-call', id, name, input }) as ToolCallPart

describe('planning a response', () => {
  it('is synchronous when every check is: an array, not a promise, with one plan per call in order', async () => {
    const agent = await resolveAgent({ id: 'a', model, policies: { retry: false } }, [add, handoff])
    const plans = agent.plan(
      [call('1', 'add', { n: 1 }), call('2', 'handoff', { n: 2 }), call('3', 'add', { n: 'x' })],
      'run-1',
    )
    expect(Array.isArray(plans)).toBe(true)
    expect(plans).toEqual([
      { toolCallId: '1', action: 'execute', sideEffects: 'unsafe' },
      { toolCallId: '2', action: 'execute', sideEffects: 'idempotent', final: true },
      { toolCallId: '3', action: 'reject', error: expect.stringContaining("Invalid arguments for 'add'") },
    ])
  })

  it('waits only for what is asynchronous: a Standard Schema that validates in a promise, an async needsApproval', async () => {
    const slow = defineTool({
      name: 'slow',
      description: 'Validated asynchronously.',
      // A Standard Schema whose check answers in a promise.
      input: {
        '~standard': {
          types: undefined as { input: { n: number }; output: { n: number } } | undefined,
          version: 1,
          vendor: 'test',
          validate: async (value: unknown) =>
            (value as { n: number }).n > 0 ? { value } : { issues: [{ message: 'n must be positive' }] },
        },
      },
      jsonSchema: numbers,
      handler: () => 1,
    })
    const asked: string[] = []
    const guarded = defineTool({
      name: 'guarded',
      description: 'Asks in a promise.',
      input: numbers,
      handler: () => 1,
      needsApproval: async ({ n }: { n: number }, context) => {
        asked.push(`${context.runId}/${context.toolCallId}`)
        return n > 10
      },
    })
    const agent = await resolveAgent({ id: 'a', model, policies: { retry: false } }, [add, slow, guarded])
    const plans = agent.plan(
      [
        call('1', 'slow', { n: 1 }),
        call('2', 'add', { n: 1 }),
        call('3', 'slow', { n: -1 }),
        call('4', 'guarded', { n: 11 }),
        call('5', 'guarded', { n: 1 }),
      ],
      'run-2',
    )
    expect(plans).toBeInstanceOf(Promise)
    expect(await plans).toEqual([
      { toolCallId: '1', action: 'execute', sideEffects: 'unsafe' },
      { toolCallId: '2', action: 'execute', sideEffects: 'unsafe' },
      { toolCallId: '3', action: 'reject', error: expect.stringContaining('n must be positive') },
      { toolCallId: '4', action: 'approve', sideEffects: 'unsafe' },
      { toolCallId: '5', action: 'execute', sideEffects: 'unsafe' },
    ])
    expect(asked).toEqual(['run-2/4', 'run-2/5'])
  })

  it('asks a human when needsApproval throws or rejects', async () => {
    const throwing = defineTool({
      name: 'throwing',
      description: 'A policy that throws.',
      input: numbers,
      handler: () => 1,
      needsApproval: () => {
        throw new Error('policy down')
      },
    })
    const rejecting = defineTool({
      name: 'rejecting',
      description: 'A policy that rejects.',
      input: numbers,
      handler: () => 1,
      needsApproval: () => Promise.reject(new Error('policy down')),
    })
    const agent = await resolveAgent({ id: 'a', model, policies: { retry: false } }, [throwing, rejecting])
    expect(agent.plan([call('1', 'throwing', { n: 1 })], 'r')).toEqual([
      { toolCallId: '1', action: 'approve', sideEffects: 'unsafe' },
    ])
    expect(await agent.plan([call('2', 'rejecting', { n: 1 })], 'r')).toEqual([
      { toolCallId: '2', action: 'approve', sideEffects: 'unsafe' },
    ])
  })
})
