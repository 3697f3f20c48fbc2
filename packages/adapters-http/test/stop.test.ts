import { Agent, createRuntime, type Runtime } from '@vel/actors'
import type { LanguageModel, ModelPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'

/*
 * `useChat`'s `stop()` closes the response: what happens to the run is the app's documented choice,
 * `chat.onClientAbort`: `keep-running` (default: the run finishes, resumable) or `cancel`.
 */

const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }
const held: Array<() => void> = []
const model: LanguageModel = {
  provider: 'test',
  modelId: 'held',
  async *stream(_request, options): AsyncGenerator<ModelPart> {
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: 'thinking about it' }
    await new Promise<void>((resolve, reject) => {
      held.push(resolve)
      options?.signal?.addEventListener('abort', () => reject(new Error('aborted')))
    })
    yield { type: 'text-delta', id: 't', delta: '... done' }
    yield { type: 'text-end', id: 't' }
    yield { type: 'finish', finishReason: 'stop', usage }
  },
}

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const start = async (onClientAbort?: 'keep-running' | 'cancel'): Promise<Runtime> => {
  const runtime = createRuntime({
    store: createMemoryStore(),
    agents: [new Agent({ id: 'held', model, policies: { retry: false } })],
    onError: () => undefined,
  })
  server = await serve({
    runtime,
    port: 0,
    hostname: '127.0.0.1',
    ...(onClientAbort === undefined ? {} : { chat: { onClientAbort } }),
  })
  return runtime
}

/** Posts a chat message, reads until the first delta, then goes away (as `stop()` does). */
const chatThenStop = async (chatId: string): Promise<string> => {
  const controller = new AbortController()
  const response = await fetch(`${server?.url}/agents/held/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: chatId,
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'go' }] }],
    }),
    signal: controller.signal,
  })
  const runId = response.headers.get('x-vel-run-id') ?? ''
  const reader = response.body?.getReader()
  let text = ''
  while (!text.includes('text-delta')) text += new TextDecoder().decode((await reader?.read())?.value)
  controller.abort()
  return runId
}

const until = async (check: () => Promise<boolean>) => {
  for (let tries = 0; !(await check()); tries++) {
    if (tries > 500) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('a chat client that stops reading', () => {
  it('keep-running (the default): the run goes on and completes', async () => {
    const runtime = await start()
    const runId = await chatThenStop('stop-keep')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await runtime.record(runId))?.status).toBe('running')
    for (const release of held.splice(0)) release()
    await until(async () => (await runtime.record(runId))?.status === 'completed')
    expect((await runtime.record(runId))?.answer).toBe('thinking about it... done')
  })

  it('cancel: the run is cancelled when the client goes away', async () => {
    const runtime = await start('cancel')
    const runId = await chatThenStop('stop-cancel')
    await until(async () => (await runtime.record(runId))?.status === 'cancelled')
    const journal = await runtime.journal(runId)
    expect(journal.at(-1)?.data).toMatchObject({
      type: 'run.cancelled',
      reason: 'the client stopped reading',
    })
    held.splice(0)
  })
})
