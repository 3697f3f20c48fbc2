import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOpenAIChatModel } from '../src/openai-chat.ts'
import { collect, type FakeServer, fixture, startFakeServer, textOf } from './support.ts'

// Up to and including the event carrying 'Hello': the stream then stalls with the socket open.
const text = fixture('openai-chat/text.sse')
const afterHello = Buffer.byteLength(text.slice(0, text.indexOf('\n\n', text.indexOf('"Hello"')) + 2))

let server: FakeServer
beforeAll(async () => {
  server = await startFakeServer()
  // Loads the SDK once, so that its import time does not count against the short timeouts below.
  server.reply({ fixture: 'openai-chat/text.sse' })
  await collect(model({}).stream(hello))
})
afterAll(() => server.close())

const hello = { messages: [{ role: 'user' as const, content: 'Hi' }] }
const model = (settings: { timeoutMs?: number; idleTimeoutMs?: number }) =>
  createOpenAIChatModel({ model: 'gpt-4.1-mini', apiKey: 'k', baseURL: server.url, ...settings })

describe('timeouts and aborts', () => {
  it('fails a stream that goes silent with a retryable timeout', async () => {
    server.reply({ fixture: 'openai-chat/text.sse', stallAfterBytes: afterHello })
    const started = performance.now()
    const { parts, error } = await collect(model({ idleTimeoutMs: 80 }).stream(hello))
    expect(error).toMatchObject({ reason: 'timeout', retryable: true })
    expect(error?.message).toMatch(/idle/)
    expect(textOf(parts)).toBe('Hello')
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('fails a call that exceeds timeoutMs', async () => {
    server.reply({ fixture: 'openai-chat/text.sse', stallAfterBytes: 10 })
    const { error } = await collect(model({ timeoutMs: 60 }).stream(hello))
    expect(error).toMatchObject({ reason: 'timeout' })
    expect(error?.message).toMatch(/call exceeded 60 ms/)
  })

  it('aborts mid-stream with a non-retryable aborted error', async () => {
    server.reply({ fixture: 'openai-chat/text.sse', stallAfterBytes: afterHello })
    const controller = new AbortController()
    const fallback = setTimeout(() => controller.abort(), 5_000)
    const seen: string[] = []
    let caught: unknown
    try {
      for await (const part of model({}).stream(hello, { signal: controller.signal })) {
        seen.push(part.type)
        if (part.type === 'text-delta') controller.abort()
      }
    } catch (error) {
      caught = error
    }
    clearTimeout(fallback)
    expect(caught).toMatchObject({ reason: 'aborted', retryable: false, provider: 'openai' })
    expect(seen).toContain('text-delta')
  })

  it('does not send a request when the signal is already aborted', async () => {
    const before = server.requests.length
    const { error } = await collect(model({}).stream(hello, { signal: AbortSignal.abort() }))
    expect(error?.reason).toBe('aborted')
    expect(server.requests.length).toBe(before)
  })
})
