import type { Message } from '@vel/core'
import { describe, expect, it, vi } from 'vitest'
import { createAnthropicModel } from '../src/anthropic.ts'
import { withRetry } from '../src/retry.ts'
import {
  assistantFrom,
  collect,
  collectOk,
  conversation,
  finishOf,
  ofType,
  reasoningOf,
  sse,
  textOf,
  useFakeServer,
  weatherTool,
} from './support.ts'

const fake = useFakeServer()

const model = () =>
  createAnthropicModel({ model: 'claude-sonnet-5-5', apiKey: 'sk-ant-test', baseURL: fake().url })
const hello = { messages: [{ role: 'user', content: 'Hi' }] as Message[] }

describe('anthropic streaming', () => {
  it('streams text with usage that counts cached input', async () => {
    fake().reply({ fixture: 'anthropic/text.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(textOf(parts)).toBe('Hello, world!')
    expect(parts[0]).toEqual({
      type: 'response-metadata',
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      modelId: 'claude-sonnet-4-5-20250929',
    })
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 135, outputTokens: 15, reasoningTokens: 0, cachedInputTokens: 100 },
    })
    expect(fake().requests[0]?.url).toBe('/v1/messages')
    expect(fake().requests[0]?.headers.authorization).toBe('Bearer sk-ant-test')
  })

  it('uses a model id the installed SDK does not warn is deprecated', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      fake().reply({ fixture: 'anthropic/text.sse' })
      await collectOk(model().stream(hello))
      expect(fake().requests[0]?.body.model).toBe('claude-sonnet-5-5')
      expect(
        warn.mock.calls.map((call) => String(call[0])).filter((line) => /deprecated/i.test(line)),
      ).toEqual([])
    } finally {
      warn.mockRestore()
    }
  })

  it('maps max_tokens to length', async () => {
    fake().reply({ fixture: 'anthropic/max-tokens.sse' })
    expect(finishOf(await collectOk(model().stream(hello))).finishReason).toBe('length')
  })

  it('streams one tool call with its input deltas and a complete tool-call part', async () => {
    fake().reply({ fixture: 'anthropic/tool-call.sse' })
    const parts = await collectOk(model().stream(hello))
    const id = 'toolu_01T1x1fJ34qAmk2tNTrN7Up6'
    expect(parts.filter((part) => part.type.startsWith('tool-'))).toEqual([
      { type: 'tool-input-start', id, toolName: 'get_weather' },
      { type: 'tool-input-delta', id, delta: '{"city": "Pa' },
      { type: 'tool-input-delta', id, delta: 'ris"}' },
      { type: 'tool-input-end', id },
      { type: 'tool-call', toolCallId: id, toolName: 'get_weather', input: '{"city": "Paris"}' },
    ])
    expect(textOf(parts)).toBe('Let me check.')
    expect(finishOf(parts).finishReason).toBe('tool-calls')
  })

  it('streams parallel tool calls in order', async () => {
    fake().reply({ fixture: 'anthropic/parallel-tools.sse' })
    const calls = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(calls.map((call) => [call.toolCallId, call.input])).toEqual([
      ['toolu_aaa', '{"city":"Paris"}'],
      ['toolu_bbb', '{"city":"Tokyo"}'],
    ])
  })

  it('turns a tool call with no input into {}', async () => {
    fake().reply({ fixture: 'anthropic/empty-args.sse' })
    const [call] = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(call).toEqual({ type: 'tool-call', toolCallId: 'toolu_empty', toolName: 'get_time', input: '{}' })
  })

  it('puts thinking signatures and redacted thinking data on reasoning-end', async () => {
    fake().reply({ fixture: 'anthropic/thinking.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(reasoningOf(parts)).toBe('I need to find the GCD of 1071 and 462. Euclid: 21.')
    expect(ofType(parts, 'reasoning-end')).toEqual([
      {
        type: 'reasoning-end',
        id: 'reasoning-0',
        providerMetadata: {
          anthropic: { signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' },
        },
      },
      {
        type: 'reasoning-end',
        id: 'reasoning-1',
        providerMetadata: {
          anthropic: { redactedData: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
        },
      },
    ])
    expect(finishOf(parts).usage.reasoningTokens).toBe(280)
  })
})

describe('anthropic failures', () => {
  it('maps a 429 with retry-after to a retryable rate-limited error', async () => {
    fake().reply({
      status: 429,
      headers: { 'retry-after': '7' },
      json: {
        type: 'error',
        error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' },
      },
    })
    const { error } = await collect(model().stream(hello))
    expect(error).toMatchObject({
      reason: 'rate-limited',
      retryable: true,
      retryAfterMs: 7000,
      status: 429,
      provider: 'anthropic',
    })
    expect(fake().requests).toHaveLength(1) // the SDK's own retries are off
  })

  it('retries a 500 through withRetry and then succeeds', async () => {
    fake().reply(
      {
        status: 500,
        json: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } },
      },
      { fixture: 'anthropic/text.sse' },
    )
    const parts = await collectOk(withRetry(model(), { initialDelayMs: 1, jitter: false }).stream(hello))
    expect(textOf(parts)).toBe('Hello, world!')
    expect(fake().requests).toHaveLength(2)
  })

  it('does not retry a 400', async () => {
    fake().reply(
      {
        status: 400,
        json: {
          type: 'error',
          error: { type: 'invalid_request_error', message: 'messages: field required' },
        },
      },
      { fixture: 'anthropic/text.sse' },
    )
    const { error } = await collect(withRetry(model(), { initialDelayMs: 1 }).stream(hello))
    expect(error).toMatchObject({ reason: 'bad-request', retryable: false, status: 400 })
    expect(fake().requests).toHaveLength(1)
    fake().requests.length = 0
    await collectOk(model().stream(hello)) // drain the unused reply
  })

  it('recognizes a context overflow among 400s', async () => {
    fake().reply({
      status: 400,
      json: {
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message: 'prompt is too long: 210000 tokens > 200000 maximum',
        },
      },
    })
    expect((await collect(model().stream(hello))).error?.reason).toBe('context-overflow')
  })

  it('maps a 401 to auth', async () => {
    fake().reply({
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    })
    expect((await collect(model().stream(hello))).error).toMatchObject({
      reason: 'auth',
      retryable: false,
      status: 401,
    })
  })

  it('maps an overloaded_error event mid-stream to overloaded', async () => {
    fake().reply({ fixture: 'anthropic/overloaded.sse' })
    const { error } = await collect(model().stream(hello))
    expect(error).toMatchObject({ reason: 'overloaded', retryable: true })
  })

  it.each([
    // error type, expected reason, retryable
    ['overloaded_error', 'overloaded', true],
    ['api_error', 'overloaded', true],
    ['rate_limit_error', 'rate-limited', true],
    ['timeout_error', 'timeout', true],
    ['billing_error', 'rate-limited', false],
    ['authentication_error', 'auth', false],
    ['permission_error', 'auth', false],
    ['invalid_request_error', 'bad-request', false],
    ['not_found_error', 'bad-request', false],
    ['conflict_error', 'bad-request', false],
  ] as const)('maps an in-stream error event of type %s to %s', async (type, reason, retryable) => {
    const start = {
      type: 'message_start',
      message: {
        id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-5-5',
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 25, output_tokens: 1 },
      },
    }
    fake().reply({
      body: sse([start, { type: 'error', error: { type, message: `${type} happened` } }], { named: true }),
    })
    const { error } = await collect(model().stream(hello))
    expect({ reason: error?.reason, retryable: error?.retryable }).toEqual({ reason, retryable })
  })

  it('maps a malformed chunk to invalid-response', async () => {
    fake().reply({ fixture: 'anthropic/malformed.sse' })
    const { parts, error } = await collect(model().stream(hello))
    expect(error).toMatchObject({ reason: 'invalid-response', retryable: false })
    expect(parts.map((part) => part.type)).toEqual(['response-metadata', 'text-start'])
  })

  it('maps a connection dropped mid-stream to a retryable network error', async () => {
    fake().reply({ fixture: 'anthropic/text.sse', dropAfterBytes: 700 })
    const { parts, error } = await collect(model().stream(hello))
    expect(error).toMatchObject({ reason: 'network', retryable: true })
    expect(ofType(parts, 'finish')).toHaveLength(0)
  })
})

describe('anthropic translation', () => {
  it('sends system, images, signed thinking, parallel calls and tool results (is_error) exactly', async () => {
    fake().reply({ fixture: 'anthropic/text.sse' })
    await collectOk(
      model().stream({
        messages: conversation,
        tools: [weatherTool],
        toolChoice: 'required',
        maxOutputTokens: 512,
        stopSequences: ['END'],
        responseFormat: { type: 'json', schema: { type: 'object' } },
        providerOptions: { anthropic: { metadata: { user_id: 'u1' } } },
      }),
    )
    expect(fake().requests[0]?.body).toEqual({
      model: 'claude-sonnet-5-5',
      max_tokens: 512,
      stream: true,
      system: 'You are terse.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this, and the weather?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Think.', signature: 'sig-1' },
            { type: 'text', text: 'A cat.' },
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Tokyo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: '{"celsius":21}' },
            { type: 'tool_result', tool_use_id: 'call_2', content: 'upstream timeout', is_error: true },
          ],
        },
      ],
      tools: [
        { name: 'get_weather', description: 'Weather for a city', input_schema: weatherTool.inputSchema },
      ],
      tool_choice: { type: 'any' },
      stop_sequences: ['END'],
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
      metadata: { user_id: 'u1' },
    })
  })

  it('sends a streamed thinking signature and redacted thinking back unchanged on the next call', async () => {
    fake().reply({ fixture: 'anthropic/thinking.sse' }, { fixture: 'anthropic/text.sse' })
    const first = await collectOk(model().stream(hello))
    const stored = JSON.parse(JSON.stringify(assistantFrom(first))) // as persisted in a journal
    await collectOk(
      model().stream({ messages: [...hello.messages, stored, { role: 'user', content: 'Why?' }] }),
    )
    expect(fake().requests[1]?.body.messages[1]).toEqual({
      role: 'assistant',
      content: [
        {
          type: 'thinking',
          thinking: 'I need to find the GCD of 1071 and 462. Euclid: 21.',
          signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds',
        },
        {
          type: 'redacted_thinking',
          data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP',
        },
        { type: 'text', text: 'The GCD is 21.' },
      ],
    })
  })

  it('warns about settings the Messages API does not take instead of failing', async () => {
    fake().reply({ fixture: 'anthropic/text.sse' })
    const seen: string[] = []
    const warned = createAnthropicModel({
      model: 'claude-sonnet-5-5',
      apiKey: 'k',
      baseURL: fake().url,
      onWarning: (message) => seen.push(message),
    })
    const parts = await collectOk(warned.stream({ ...hello, seed: 7 }))
    expect(ofType(parts, 'warning').map((part) => part.message)).toEqual(seen)
    expect(seen[0]).toMatch(/seed/)
    expect(fake().requests[0]?.body.seed).toBeUndefined()
  })
})
