import { assertWellFormedStream, type LanguageModel, type ModelPart, type StreamPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { approvalAgent, gate, until } from './run-support.ts'

/*
 * Regressions found by the interleavings property test (packages/nats/test/interleavings...):
 * an owner that lost its lease without knowing it refused a human's answer from its stale state,
 * and a cancel journaled while a text block was open left the block open in live readers.
 */

const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }

describe('an owner that lost its lease and does not know it yet', () => {
  it('hands an answer it would refuse to the run as it is now, which takes it', async () => {
    const store = createMemoryStore()
    const counter = { runs: 0 }
    const held = gate()
    // Worker A's model call hangs until the test lets it go; B's answers at once.
    const slowly = (agent: Agent): Agent => {
      const model: LanguageModel = {
        ...(agent.options.model as LanguageModel),
        async *stream(request, options): AsyncGenerator<ModelPart> {
          await held.promise
          yield* (agent.options.model as LanguageModel).stream(request, options)
        },
      }
      return new Agent({ ...agent.options, model })
    }
    const a = createRuntime({
      store,
      agents: [slowly(approvalAgent('pay', counter))],
      ownerId: 'a',
      leaseTtlMs: 60_000,
    })
    const b = createRuntime({
      store,
      agents: [approvalAgent('pay', counter)],
      ownerId: 'b',
      leaseTtlMs: 60_000,
    })
    const handle = await a.spawn('pay', 'pay')
    // B takes the run (A's lease is gone; A's renewal has not run, so A still holds it in memory).
    const lease = await store.getLease(handle.runId)
    if (lease === undefined) throw new Error('no lease')
    await store.releaseLease(lease)
    expect(await b.recover()).toEqual([handle.runId])
    await until(
      async () => (await store.getRun(handle.runId))?.status === 'waiting' && !b.isActive(handle.runId),
    )
    expect(a.isActive(handle.runId)).toBe(true)
    // The human answers through A, whose state has no pending approval: not refused, delivered.
    await a.approve(handle.runId, 'pay_1', { by: 'human' })
    // A's model calls may go on now (the stale one was stopped when A let go of the run).
    held.open()
    await until(async () => (await store.getRun(handle.runId))?.status === 'completed')
    expect((await store.getRun(handle.runId))?.answer).toContain('paid')
    expect(counter.runs).toBe(1)
    await a.shutdown()
    await b.shutdown()
  })
})

describe('a cancel while a text block streams', () => {
  it('closes the open block for live readers before the cancel parts', async () => {
    const streaming = gate()
    const model: LanguageModel = {
      provider: 'test',
      modelId: 'hang',
      async *stream(_request, options): AsyncGenerator<ModelPart> {
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: 'Hel' }
        streaming.open()
        await new Promise((_resolve, reject) =>
          options?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        )
        yield { type: 'finish', finishReason: 'stop', usage }
      },
    }
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [new Agent({ id: 'hang', model, policies: { retry: false } })],
      onError: () => undefined,
    })
    const handle = await runtime.spawn('hang', 'hi')
    const parts: StreamPart[] = []
    const reading = (async () => {
      for await (const part of handle.parts()) parts.push(part)
    })()
    await streaming.promise
    await until(() => parts.some((part) => part.type === 'text-delta'))
    await handle.cancel('stop')
    await reading
    assertWellFormedStream(parts)
    expect(parts.map((part) => part.type).slice(-4)).toEqual(['text-end', 'finish-step', 'abort', 'finish'])
  })
})
