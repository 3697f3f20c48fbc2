import { ProviderError } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { withRetry } from '../src/retry.ts'
import { createScriptedModel } from '../src/testing.ts'
import { collect, textOf } from './support.ts'

const overloaded = (retryAfterMs?: number) =>
  new ProviderError({
    reason: 'overloaded',
    provider: 'scripted',
    message: 'busy',
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  })
const hello = { messages: [{ role: 'user' as const, content: 'Hi' }] }

describe('withRetry', () => {
  it('backs off exponentially between attempts and then succeeds', async () => {
    const model = createScriptedModel({
      responses: [{ error: overloaded() }, { error: overloaded() }, { text: 'ok' }],
    })
    const waits: number[] = []
    const started = performance.now()
    const { parts, error } = await collect(
      withRetry(model, {
        maxAttempts: 3,
        initialDelayMs: 20,
        jitter: false,
        onRetry: ({ delayMs, attempt }) => waits.push(attempt, delayMs),
      }).stream(hello),
    )
    expect(error).toBeUndefined()
    expect(textOf(parts)).toBe('ok')
    expect(model.calls).toBe(3)
    expect(waits).toEqual([1, 20, 2, 40])
    expect(performance.now() - started).toBeGreaterThanOrEqual(58)
  })

  it('gives up after maxAttempts with the last error', async () => {
    const model = createScriptedModel({ responses: [{ error: overloaded() }], loop: true })
    const { error } = await collect(withRetry(model, { maxAttempts: 3, initialDelayMs: 1 }).stream(hello))
    expect(error).toMatchObject({ reason: 'overloaded' })
    expect(model.calls).toBe(3)
  })

  it('caps each delay at maxDelayMs but waits at least retry-after', async () => {
    const capped: number[] = []
    const model = createScriptedModel({ responses: [{ error: overloaded() }], loop: true })
    await collect(
      withRetry(model, {
        maxAttempts: 4,
        initialDelayMs: 10,
        maxDelayMs: 15,
        jitter: false,
        onRetry: ({ delayMs }) => capped.push(delayMs),
      }).stream(hello),
    )
    expect(capped).toEqual([10, 15, 15])

    const honoured: number[] = []
    const started = performance.now()
    const limited = createScriptedModel({ responses: [{ error: overloaded(60) }, { text: 'ok' }] })
    await collect(
      withRetry(limited, {
        initialDelayMs: 1,
        maxDelayMs: 5,
        jitter: false,
        onRetry: ({ delayMs }) => honoured.push(delayMs),
      }).stream(hello),
    )
    expect(honoured).toEqual([60])
    expect(performance.now() - started).toBeGreaterThanOrEqual(58)
  })

  it('fails at once when retry-after exceeds maxRetryAfterMs', async () => {
    const model = createScriptedModel({ responses: [{ error: overloaded(120_000) }, { text: 'ok' }] })
    const { error } = await collect(withRetry(model, { initialDelayMs: 1 }).stream(hello))
    expect(error?.retryAfterMs).toBe(120_000)
    expect(model.calls).toBe(1)
  })

  it('jitters delays within ±20%', async () => {
    const delays: number[] = []
    const model = createScriptedModel({ responses: [{ error: overloaded() }], loop: true })
    await collect(
      withRetry(model, {
        maxAttempts: 6,
        initialDelayMs: 5,
        onRetry: ({ delayMs }) => delays.push(delayMs),
      }).stream(hello),
    )
    delays.forEach((delay, index) => {
      const base = 5 * 2 ** index
      expect(delay).toBeGreaterThanOrEqual(base * 0.8 - 0.001)
      expect(delay).toBeLessThanOrEqual(base * 1.2 + 0.001)
    })
    expect(new Set(delays.map((delay, index) => delay / 2 ** index)).size).toBeGreaterThan(1)
  })

  it('does not retry non-retryable errors', async () => {
    const model = createScriptedModel({
      responses: [
        { error: new ProviderError({ reason: 'auth', provider: 'scripted', message: 'no' }) },
        { text: 'ok' },
      ],
    })
    expect((await collect(withRetry(model, { initialDelayMs: 1 }).stream(hello))).error?.reason).toBe('auth')
    expect(model.calls).toBe(1)
  })

  it('never retries once content reached the consumer', async () => {
    const model = createScriptedModel({
      responses: [{ text: ['Hel', 'lo'], error: overloaded(), failAfterParts: 2 }, { text: 'again' }],
    })
    const { parts, error } = await collect(withRetry(model, { initialDelayMs: 1 }).stream(hello))
    expect(error?.reason).toBe('overloaded')
    expect(parts).toEqual([
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Hel' },
    ])
    expect(model.calls).toBe(1)
  })

  it('still retries when only metadata and warnings came before the failure, and drops them', async () => {
    let call = 0
    const flaky = {
      provider: 'flaky',
      modelId: 'f',
      async *stream() {
        call += 1
        yield { type: 'warning' as const, message: `attempt ${call}` }
        if (call === 1) throw overloaded()
        yield {
          type: 'finish' as const,
          finishReason: 'stop' as const,
          usage: { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedInputTokens: 0 },
        }
      },
    }
    const { parts } = await collect(withRetry(flaky, { initialDelayMs: 1 }).stream(hello))
    expect(parts.map((part) => (part.type === 'warning' ? part.message : part.type))).toEqual([
      'attempt 2',
      'finish',
    ])
  })

  it('stops waiting when aborted, with a non-retryable aborted error', async () => {
    const model = createScriptedModel({ responses: [{ error: overloaded() }, { text: 'late' }] })
    const controller = new AbortController()
    const started = performance.now()
    setTimeout(() => controller.abort(), 20)
    const { error } = await collect(
      withRetry(model, { initialDelayMs: 5_000, jitter: false }).stream(hello, { signal: controller.signal }),
    )
    expect(error).toMatchObject({ reason: 'aborted', retryable: false })
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(model.calls).toBe(1)
  })
})
