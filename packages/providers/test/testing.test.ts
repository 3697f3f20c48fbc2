import { type ModelRequest, ProviderError } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createScriptedModel } from '../src/testing.ts'
import { collect, collectOk, finishOf, ofType, reasoningOf, textOf } from './support.ts'

const ask = (content: string): ModelRequest => ({ messages: [{ role: 'user', content }] })

describe('createScriptedModel', () => {
  it('plays responses in order and records the requests it received', async () => {
    const model = createScriptedModel({ responses: [{ text: 'one' }, { text: ['t', 'w', 'o'] }] })
    const first = await collectOk(model.stream(ask('a')))
    const second = await collectOk(model.stream(ask('b')))
    expect(textOf(first)).toBe('one')
    expect(ofType(second, 'text-delta').map((part) => part.delta)).toEqual(['t', 'w', 'o'])
    expect(model.requests.map((request) => request.messages[0]?.content)).toEqual(['a', 'b'])
    expect(model.lastRequest()).toEqual(ask('b'))
    expect(model.calls).toBe(2)
    const { error } = await collect(model.stream(ask('c')))
    expect(error).toMatchObject({ reason: 'invalid-response' })
    expect(error?.message).toMatch(/no response #3/)
  })

  it('computes each response from the request, deterministically', async () => {
    const model = createScriptedModel({
      respond: (request) => {
        const last = request.messages.at(-1)
        return last?.role === 'tool'
          ? { text: 'done' }
          : {
              toolCalls: [
                { name: 'lookup', input: { q: String(last?.content) } },
                { name: 'lookup', input: {} },
              ],
            }
      },
    })
    const run = () => collectOk(model.stream(ask('paris')))
    const [once, twice] = [await run(), await run()]
    expect(once).toEqual(twice)
    expect(ofType(once, 'tool-call')).toEqual([
      { type: 'tool-call', toolCallId: 'call-0-0', toolName: 'lookup', input: '{"q":"paris"}' },
      { type: 'tool-call', toolCallId: 'call-0-1', toolName: 'lookup', input: '{}' },
    ])
    expect(finishOf(once).finishReason).toBe('tool-calls')
  })

  it('streams reasoning with metadata, usage and a custom finish', async () => {
    const model = createScriptedModel({
      responses: [
        {
          reasoning: { text: 'hmm', providerMetadata: { anthropic: { signature: 's' } } },
          text: 'x',
          usage: { outputTokens: 9 },
          finishReason: 'length',
        },
      ],
      usage: { inputTokens: 3 },
    })
    const parts = await collectOk(model.stream(ask('a')))
    expect(reasoningOf(parts)).toBe('hmm')
    expect(ofType(parts, 'reasoning-end')[0]?.providerMetadata).toEqual({ anthropic: { signature: 's' } })
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      finishReason: 'length',
      usage: { inputTokens: 3, outputTokens: 9, reasoningTokens: 0, cachedInputTokens: 0 },
    })
  })

  it('fails with the given error, before or after some parts', async () => {
    const error = new ProviderError({
      reason: 'rate-limited',
      provider: 'scripted',
      message: 'slow',
      retryAfterMs: 5,
    })
    const model = createScriptedModel({ responses: [{ error }, { text: 'abc', error, failAfterParts: 2 }] })
    expect(await collect(model.stream(ask('a')))).toEqual({ parts: [], error })
    const partial = await collect(model.stream(ask('b')))
    expect(partial.parts.map((part) => part.type)).toEqual(['text-start', 'text-delta'])
    expect(partial.error).toBe(error)
  })

  it('throws aborted for an aborted signal and can loop and reset', async () => {
    const model = createScriptedModel({ responses: [{ text: 'a' }], loop: true, record: false })
    expect((await collect(model.stream(ask('x'), { signal: AbortSignal.abort() }))).error?.reason).toBe(
      'aborted',
    )
    expect(textOf(await collectOk(model.stream(ask('x'))))).toBe('a')
    expect(textOf(await collectOk(model.stream(ask('x'))))).toBe('a')
    expect(model.requests).toHaveLength(0)
    model.reset()
    expect(model.calls).toBe(0)
  })
})
