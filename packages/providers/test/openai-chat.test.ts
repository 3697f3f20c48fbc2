import type { Message } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createOpenAIChatModel } from '../src/openai-chat.ts'
import { withRetry } from '../src/retry.ts'
import {
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

const model = () => createOpenAIChatModel({ model: 'gpt-4.1-mini', apiKey: 'sk-test', baseURL: fake().url })
const hello = { messages: [{ role: 'user', content: 'Hi' }] as Message[] }

describe('openai chat streaming', () => {
  it('streams text, then one finish with usage from the trailing usage chunk', async () => {
    fake().reply({ fixture: 'openai-chat/text.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(textOf(parts)).toBe('Hello, world!')
    expect(parts.map((part) => part.type)).toEqual([
      'response-metadata',
      'text-start',
      'text-delta',
      'text-delta',
      'text-delta',
      'text-end',
      'finish',
    ])
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 19, outputTokens: 4, reasoningTokens: 0, cachedInputTokens: 6 },
    })
    expect(fake().requests[0]?.url).toBe('/chat/completions')
    expect(fake().requests[0]?.headers.authorization).toBe('Bearer sk-test')
  })

  it('maps length', async () => {
    fake().reply({ fixture: 'openai-chat/length.sse' })
    expect(finishOf(await collectOk(model().stream(hello))).finishReason).toBe('length')
  })

  it('assembles one tool call from argument deltas', async () => {
    fake().reply({ fixture: 'openai-chat/tool-call.sse' })
    const parts = await collectOk(model().stream(hello))
    const id = 'call_DdmO9pD3xa9XTPNJ32zg2hcA'
    expect(ofType(parts, 'tool-input-delta').map((part) => part.delta)).toEqual([
      '{"',
      'city',
      '":"',
      'Paris',
      '"}',
    ])
    expect(ofType(parts, 'tool-call')).toEqual([
      { type: 'tool-call', toolCallId: id, toolName: 'get_weather', input: '{"city":"Paris"}' },
    ])
    expect(finishOf(parts).finishReason).toBe('tool-calls')
  })

  it('keeps parallel tool calls apart by index', async () => {
    fake().reply({ fixture: 'openai-chat/parallel-tools.sse' })
    const calls = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(calls.map((call) => [call.toolCallId, call.input])).toEqual([
      ['call_aaa', '{"city": "Paris"}'],
      ['call_bbb', '{"city": "Tokyo"}'],
    ])
  })

  it('turns empty arguments into {}', async () => {
    fake().reply({ fixture: 'openai-chat/empty-args.sse' })
    const [call] = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(call?.input).toBe('{}')
  })

  it('streams reasoning_content from OpenAI-compatible servers as reasoning', async () => {
    fake().reply({ fixture: 'openai-chat/reasoning.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(reasoningOf(parts)).toBe('The user greets me. Reply briefly.')
    expect(textOf(parts)).toBe('Hi!')
    expect(parts.findIndex((part) => part.type === 'reasoning-end')).toBeLessThan(
      parts.findIndex((part) => part.type === 'text-start'),
    )
    expect(finishOf(parts).usage.reasoningTokens).toBe(16)
  })
})

describe('openai chat on azure', () => {
  const safe = { filtered: false, severity: 'safe' }
  const filters = { hate: safe, self_harm: safe, sexual: safe, violence: safe }
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    choices,
    created: 1762317021,
    id: 'chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt',
    model: 'gpt-5-nano-2025-08-07',
    object: 'chat.completion.chunk',
    system_fingerprint: null,
    usage: null,
    ...extra,
  })
  // Azure opens with a chunk that carries only the prompt's content-filter results.
  const azureStream = sse(
    [
      {
        choices: [],
        created: 0,
        id: '',
        model: '',
        object: '',
        prompt_filter_results: [
          {
            prompt_index: 0,
            content_filter_results: { ...filters, jailbreak: { filtered: false, detected: false } },
          },
        ],
      },
      chunk([
        {
          content_filter_results: {},
          delta: { content: '', refusal: null, role: 'assistant' },
          finish_reason: null,
          index: 0,
          logprobs: null,
        },
      ]),
      chunk([
        { content_filter_results: filters, delta: { content: 'Capital' }, finish_reason: null, index: 0 },
      ]),
      chunk([
        {
          content_filter_results: filters,
          delta: { content: ' of Denmark.' },
          finish_reason: null,
          index: 0,
        },
      ]),
      chunk([{ content_filter_results: {}, delta: {}, finish_reason: 'stop', index: 0, logprobs: null }]),
      chunk([], {
        usage: {
          completion_tokens: 78,
          completion_tokens_details: { reasoning_tokens: 64 },
          prompt_tokens: 15,
          prompt_tokens_details: { cached_tokens: 0 },
          total_tokens: 93,
        },
      }),
    ],
    { done: true },
  )

  it('takes the response id and model from the first chunk that has them, not the filter-only chunk', async () => {
    fake().reply({ body: azureStream })
    const parts = await collectOk(model().stream(hello))
    expect(ofType(parts, 'response-metadata')).toEqual([
      {
        type: 'response-metadata',
        id: 'chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt',
        modelId: 'gpt-5-nano-2025-08-07',
      },
    ])
    expect(textOf(parts)).toBe('Capital of Denmark.')
    expect(finishOf(parts)).toMatchObject({
      finishReason: 'stop',
      usage: { inputTokens: 15, outputTokens: 78, reasoningTokens: 64 },
    })
  })
})

describe('openai chat failures', () => {
  it('maps a 429 with retry-after-ms', async () => {
    fake().reply({
      status: 429,
      headers: { 'retry-after-ms': '1500', 'retry-after': '2' },
      json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
    })
    const { error } = await collect(model().stream(hello))
    expect(error).toMatchObject({ reason: 'rate-limited', retryable: true, retryAfterMs: 1500, status: 429 })
    expect(fake().requests).toHaveLength(1)
  })

  it('does not call a spent quota retryable', async () => {
    fake().reply({
      status: 429,
      json: {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          code: 'insufficient_quota',
        },
      },
    })
    expect((await collect(model().stream(hello))).error).toMatchObject({
      reason: 'rate-limited',
      retryable: false,
    })
  })

  it('retries a 500 through withRetry', async () => {
    fake().reply(
      { status: 500, json: { error: { message: 'server error', type: 'server_error' } } },
      {
        fixture: 'openai-chat/text.sse',
      },
    )
    const parts = await collectOk(withRetry(model(), { initialDelayMs: 1 }).stream(hello))
    expect(textOf(parts)).toBe('Hello, world!')
    expect(fake().requests).toHaveLength(2)
  })

  it('does not retry a 400 and spots context overflow', async () => {
    fake().reply({
      status: 400,
      json: {
        error: {
          message: "This model's maximum context length is 128000 tokens",
          code: 'context_length_exceeded',
        },
      },
    })
    const { error } = await collect(withRetry(model(), { initialDelayMs: 1 }).stream(hello))
    expect(error).toMatchObject({ reason: 'context-overflow', retryable: false, status: 400 })
    expect(fake().requests).toHaveLength(1)
  })

  it('maps a 401 to auth', async () => {
    fake().reply({
      status: 401,
      json: { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } },
    })
    expect((await collect(model().stream(hello))).error).toMatchObject({ reason: 'auth', status: 401 })
  })

  it('maps a malformed chunk to invalid-response after the parts before it', async () => {
    fake().reply({ fixture: 'openai-chat/malformed.sse' })
    const { parts, error } = await collect(model().stream(hello))
    expect(error?.reason).toBe('invalid-response')
    expect(textOf(parts)).toBe('Hel')
  })

  it('maps a dropped connection to network', async () => {
    fake().reply({ fixture: 'openai-chat/text.sse', dropAfterBytes: 900 })
    const { error } = await collect(model().stream(hello))
    expect(error).toMatchObject({ reason: 'network', retryable: true })
  })
})

describe('openai chat translation', () => {
  it('sends the conversation as Chat Completions messages, exactly', async () => {
    fake().reply({ fixture: 'openai-chat/text.sse' })
    await collectOk(
      model().stream({
        messages: conversation,
        tools: [weatherTool],
        toolChoice: { name: 'get_weather' },
        responseFormat: { type: 'json', schema: { type: 'object' }, name: 'answer' },
        maxOutputTokens: 100,
        temperature: 0.2,
        topP: 0.9,
        stopSequences: ['END'],
        seed: 7,
        providerOptions: { openai: { reasoning_effort: 'low' } },
      }),
    )
    expect(fake().requests[0]?.body).toEqual({
      model: 'gpt-4.1-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this, and the weather?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: 'A cat.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'call_2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":21}' },
        { role: 'tool', tool_call_id: 'call_2', content: 'Error: upstream timeout' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: weatherTool.inputSchema,
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } },
      max_completion_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      seed: 7,
      reasoning_effort: 'low',
    })
  })
})
