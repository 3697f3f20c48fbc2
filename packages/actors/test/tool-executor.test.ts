import { defineTool, type ToolContext } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { executeTool } from '../src/tool-executor.ts'

const context: Omit<ToolContext, 'signal' | 'toolCallId'> = {
  runId: 'r',
  sessionId: null,
  agentId: 'a',
  idempotencyKey: 'r:c',
  app: {},
}
const run = (
  tool: Parameters<typeof executeTool>[0],
  input: unknown = {},
  signal = new AbortController().signal,
  timeout = 1000,
) => Promise.resolve(executeTool(tool, 'c', input as never, context, { signal, defaultTimeoutMs: timeout }))

const counting = (
  behaviour: (attempt: number) => unknown,
  options: Partial<Parameters<typeof defineTool>[0]> = {},
) => {
  let attempts = 0
  const tool = defineTool({
    name: 't',
    description: 'd',
    input: { type: 'object' },
    handler: () => behaviour(++attempts),
    ...options,
  })
  return { tool, attempts: () => attempts }
}

describe('executeTool', () => {
  it('a synchronous handler succeeds with its validated output', async () => {
    const { tool } = counting(() => ({ ok: true }))
    expect(await run(tool)).toEqual({ type: 'tool.succeeded', toolCallId: 'c', output: { ok: true } })
  })

  it('invalid input never reaches the handler', async () => {
    const { tool, attempts } = counting(() => 1, { input: { type: 'object', required: ['x'] } })
    expect(await run(tool, {})).toMatchObject({ type: 'tool.failed', reason: 'invalid-input' })
    expect(attempts()).toBe(0)
  })

  it('times out a slow async handler and aborts its signal', async () => {
    let aborted = false
    const tool = defineTool({
      name: 'slow',
      description: 'd',
      input: { type: 'object' },
      timeoutMs: 20,
      handler: (_input, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true
            resolve('late')
          })
        }),
    })
    expect(await run(tool)).toMatchObject({
      type: 'tool.failed',
      reason: 'timeout',
      // The message says how to wait for a person instead (issue 19, factor 7).
      error: expect.stringMatching(/^Tool 'slow' timed out after 20 ms\. .*needsApproval.*contactHuman/),
    })
    expect(aborted).toBe(true)
  })

  it('retries an idempotent tool with backoff until it succeeds', async () => {
    const { tool, attempts } = counting(
      (attempt) => (attempt < 3 ? Promise.reject(new Error(`try ${attempt}`)) : Promise.resolve('third')),
      { sideEffects: 'idempotent', retry: { maxAttempts: 4, initialDelayMs: 1 } },
    )
    expect(await run(tool)).toEqual({ type: 'tool.succeeded', toolCallId: 'c', output: 'third' })
    expect(attempts()).toBe(3)
  })

  it('retries a synchronous throw too, and gives up after maxAttempts', async () => {
    const { tool, attempts } = counting(
      () => {
        throw new Error('always')
      },
      { sideEffects: 'none', retry: { maxAttempts: 3, initialDelayMs: 1 } },
    )
    expect(await run(tool)).toMatchObject({
      type: 'tool.failed',
      reason: 'execution',
      error: "Tool 't' failed: always",
    })
    expect(attempts()).toBe(3)
  })

  it('never retries an unsafe tool', async () => {
    const { tool, attempts } = counting(() => Promise.reject(new Error('once')), {
      sideEffects: 'unsafe',
      retry: { maxAttempts: 5, initialDelayMs: 1 },
    })
    expect(await run(tool)).toMatchObject({ type: 'tool.failed' })
    expect(attempts()).toBe(1)
  })

  it('aborting the run aborts the handler', async () => {
    const controller = new AbortController()
    const tool = defineTool({
      name: 'waits',
      description: 'd',
      input: { type: 'object' },
      handler: (_input, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('stop'))),
        ),
    })
    const outcome = run(tool, {}, controller.signal)
    controller.abort()
    expect(await outcome).toMatchObject({ type: 'tool.failed', reason: 'aborted' })
  })

  it('an output that violates the output schema is an error result', async () => {
    const { tool } = counting(() => ({ n: 'x' }), {
      output: { type: 'object', properties: { n: { type: 'number' } } },
    })
    expect(await run(tool)).toMatchObject({ type: 'tool.failed', reason: 'invalid-output' })
  })
})
