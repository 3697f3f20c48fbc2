import { Agent, createRuntime } from '@vel/actors'
import { assertWellFormedStream, type LanguageModel, type ModelPart, type StreamPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { createNatsBus } from '../src/index.ts'
import { connectNats, probeNats, startWorker, uniquePrefix } from './support.ts'

/*
 * A reader in another process (runtime.stream over the NATS bus, as behind SSE on a worker that
 * does not own the run) that joins in the middle of a model call: the call's first live parts went
 * out before it subscribed. Found by the interleavings property test; before the fix it got a
 * text-delta for a block it never saw start (a malformed stream), and then, with that dropped,
 * no text at all for the block.
 */

const available = await probeNats()
const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }

describe.skipIf(!available)('a remote reader that joins mid-call', () => {
  it('gets the block whole from the journal, in a well-formed stream', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let started = false
    const model: LanguageModel = {
      provider: 'test',
      modelId: 'held',
      async *stream(): AsyncGenerator<ModelPart> {
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: 'Hel' }
        started = true
        await held
        yield { type: 'text-delta', id: 't', delta: 'lo' }
        yield { type: 'text-end', id: 't' }
        yield { type: 'finish', finishReason: 'stop', usage }
      },
    }
    const prefix = uniquePrefix('latejoin')
    const store = createMemoryStore()
    const owner = await startWorker({
      store,
      prefix,
      agents: [new Agent({ id: 'held', model, policies: { retry: false } })],
    })
    const connection = await connectNats()
    const reader = createRuntime({ store, agents: [], bus: createNatsBus({ connection, prefix }) })
    try {
      const handle = await owner.runtime.spawn('held', 'hi')
      while (!started) await new Promise((resolve) => setTimeout(resolve, 5))
      await owner.connection.flush()
      const parts: StreamPart[] = []
      const reading = (async () => {
        for await (const { part } of reader.stream(handle.runId)) parts.push(part)
      })()
      while (!parts.some((part) => part.type === 'start-step'))
        await new Promise((resolve) => setTimeout(resolve, 5))
      release()
      await reading
      assertWellFormedStream(parts)
      expect(
        parts
          .filter((part) => part.type === 'text-delta')
          .map((part) => part.delta)
          .join(''),
      ).toBe('Hello')
    } finally {
      release()
      await reader.shutdown()
      await connection.close()
      await owner.close()
    }
  })
})
