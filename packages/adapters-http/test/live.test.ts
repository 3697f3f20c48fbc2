import { Agent, createRuntime } from '@vel/actors'
import type { LanguageModel, ModelPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'

/*
 * Live streaming over HTTP, read with the AI SDK's own client on a real socket: the model holds
 * its answer back until the test has seen the first text delta, so the delta can only have come
 * while the model was still streaming (on the journal-rebuilt streams of before, it came after).
 */

const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }
let release: () => void = () => undefined
let finished = false

const slowModel: LanguageModel = {
  provider: 'test',
  modelId: 'slow',
  async *stream(): AsyncGenerator<ModelPart> {
    finished = false
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: 'Streaming ' }
    await held
    for (const delta of ['one ', 'token ', 'at a time.']) yield { type: 'text-delta', id: 't', delta }
    yield { type: 'text-end', id: 't' }
    finished = true
    yield { type: 'finish', finishReason: 'stop', usage }
  },
}

const failingModel: LanguageModel = {
  provider: 'test',
  modelId: 'failing',
  async *stream(): AsyncGenerator<ModelPart> {
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: 'I was about to say' }
    throw new Error('upstream connection reset')
  },
}

let server: RunningServer
beforeAll(async () => {
  const runtime = createRuntime({
    store: createMemoryStore(),
    agents: [
      new Agent({ id: 'slow', model: slowModel, policies: { retry: false } }),
      new Agent({ id: 'failing', model: failingModel, policies: { retry: false } }),
    ],
    onError: () => undefined,
  })
  server = await serve({ runtime, port: 0, hostname: '127.0.0.1' })
})
afterAll(async () => {
  await server.close()
})

const chat = (agentId: string, chatId: string): Promise<ReadableStream<UIMessageChunk>> =>
  new DefaultChatTransport<UIMessage>({ api: `${server.url}/agents/${agentId}/chat` }).sendMessages({
    chatId,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'go' }] }],
    trigger: 'submit-message',
    messageId: undefined,
    abortSignal: undefined,
  })

describe('live streaming over HTTP (the ai client)', () => {
  it('the first text-delta arrives before the model finishes', async () => {
    const stream = await chat('slow', 'live-1')
    // Should the first delta not come while the model streams, let the model finish (the test fails).
    const fallback = setTimeout(() => release(), 5000)
    const snapshots: string[] = []
    let deltaWhileStreaming = false
    for await (const message of readUIMessageStream<UIMessage>({ stream })) {
      const text = message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('')
      if (text !== '' && snapshots.at(-1) !== text) snapshots.push(text)
      if (text === 'Streaming ' && !finished) {
        deltaWhileStreaming = true
        release()
      }
    }
    clearTimeout(fallback)
    expect(deltaWhileStreaming).toBe(true)
    expect(snapshots[0]).toBe('Streaming ')
    expect(snapshots.at(-1)).toBe('Streaming one token at a time.')
    expect(snapshots.length).toBeGreaterThan(2)
  })

  it('text streamed before a model error reaches the client before the error part', async () => {
    const stream = await chat('failing', 'live-2')
    const chunks: UIMessageChunk[] = []
    const reader = stream.getReader()
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value)
    const types = chunks.map((chunk) => chunk.type)
    const delta = chunks.findIndex((chunk) => chunk.type === 'text-delta')
    expect(delta).toBeGreaterThan(0)
    expect(chunks[delta]).toMatchObject({ delta: 'I was about to say' })
    expect(types.indexOf('error')).toBeGreaterThan(delta)
  })
})
