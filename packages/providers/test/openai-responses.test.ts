import type { Message } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createOpenAIResponsesModel } from '../src/openai-responses.ts'
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

const model = () => createOpenAIResponsesModel({ model: 'o4-mini', apiKey: 'sk-test', baseURL: fake().url })
const hello = { messages: [{ role: 'user', content: 'Hi' }] as Message[] }

describe('openai responses streaming', () => {
  it('streams text with the item id on text-end and the response id on finish', async () => {
    fake().reply({ fixture: 'openai-responses/text.sse' })
    const parts = await collectOk(model().stream(hello))
    const itemId = 'msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654'
    expect(textOf(parts)).toBe('Hello, world!')
    expect(ofType(parts, 'text-end')).toEqual([
      { type: 'text-end', id: itemId, providerMetadata: { 'openai-responses': { itemId } } },
    ])
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 37, outputTokens: 11, reasoningTokens: 0, cachedInputTokens: 5 },
      providerMetadata: {
        'openai-responses': { responseId: 'resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654' },
      },
    })
    expect(fake().requests[0]?.url).toBe('/responses')
  })

  it('maps an incomplete response (max_output_tokens) to length', async () => {
    fake().reply({ fixture: 'openai-responses/incomplete.sse' })
    expect(finishOf(await collectOk(model().stream(hello))).finishReason).toBe('length')
  })

  it('streams a function call keyed by call_id, with its item id', async () => {
    fake().reply({ fixture: 'openai-responses/tool-call.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(parts.filter((part) => part.type.startsWith('tool-'))).toEqual([
      { type: 'tool-input-start', id: 'call_12345xyz', toolName: 'get_weather' },
      ...['{"', 'city', '":"', 'Paris', '"}'].map((delta) => ({
        type: 'tool-input-delta',
        id: 'call_12345xyz',
        delta,
      })),
      { type: 'tool-input-end', id: 'call_12345xyz' },
      {
        type: 'tool-call',
        toolCallId: 'call_12345xyz',
        toolName: 'get_weather',
        input: '{"city":"Paris"}',
        providerMetadata: { 'openai-responses': { itemId: 'fc_12345xyz' } },
      },
    ])
    expect(finishOf(parts).finishReason).toBe('tool-calls')
  })

  it('streams parallel calls and empty arguments', async () => {
    fake().reply(
      { fixture: 'openai-responses/parallel-tools.sse' },
      { fixture: 'openai-responses/empty-args.sse' },
    )
    const parallel = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(parallel.map((call) => [call.toolCallId, call.input])).toEqual([
      ['call_aaa', '{"city":"Paris"}'],
      ['call_bbb', '{"city":"Tokyo"}'],
    ])
    const [empty] = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(empty?.input).toBe('{}')
  })

  it('streams reasoning summaries and keeps the item id and encrypted content', async () => {
    fake().reply({ fixture: 'openai-responses/reasoning.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(reasoningOf(parts)).toBe('**Planning** the answer.\n\nChecking.')
    expect(ofType(parts, 'reasoning-end')[0]?.providerMetadata).toEqual({
      'openai-responses': {
        itemId: 'rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7',
        encryptedContent: 'gAAAAABoISQ24OyVRYbkYfukdxgHvPsoVP',
      },
    })
    expect(finishOf(parts).usage).toMatchObject({ outputTokens: 300, reasoningTokens: 256 })
  })
})

describe('openai responses failures', () => {
  it('maps 429 with retry-after, 401, and does not retry a 400', async () => {
    fake().reply(
      {
        status: 429,
        headers: { 'retry-after': '3' },
        json: { error: { message: 'slow down', code: 'rate_limit_exceeded' } },
      },
      { status: 401, json: { error: { message: 'bad key', code: 'invalid_api_key' } } },
      { status: 400, json: { error: { message: "Invalid value for 'input'", code: 'invalid_value' } } },
    )
    expect((await collect(model().stream(hello))).error).toMatchObject({
      reason: 'rate-limited',
      retryAfterMs: 3000,
    })
    expect((await collect(model().stream(hello))).error).toMatchObject({ reason: 'auth', status: 401 })
    const { error } = await collect(withRetry(model(), { initialDelayMs: 1 }).stream(hello))
    expect(error).toMatchObject({ reason: 'bad-request', retryable: false })
    expect(fake().requests).toHaveLength(3)
  })

  it('retries a 500 through withRetry', async () => {
    fake().reply(
      { status: 500, json: { error: { message: 'boom', type: 'server_error' } } },
      {
        fixture: 'openai-responses/text.sse',
      },
    )
    expect(textOf(await collectOk(withRetry(model(), { initialDelayMs: 1 }).stream(hello)))).toBe(
      'Hello, world!',
    )
  })

  it('maps response.failed, a malformed chunk and a dropped connection', async () => {
    fake().reply(
      { fixture: 'openai-responses/failed.sse' },
      { fixture: 'openai-responses/malformed.sse' },
      { fixture: 'openai-responses/text.sse', dropAfterBytes: 3000 },
    )
    expect((await collect(model().stream(hello))).error).toMatchObject({
      reason: 'overloaded',
      retryable: true,
    })
    expect((await collect(model().stream(hello))).error?.reason).toBe('invalid-response')
    expect((await collect(model().stream(hello))).error).toMatchObject({ reason: 'network', retryable: true })
  })
})

describe('openai responses in-stream errors', () => {
  const responseId = 'resp_05500b38c2cd9bfc00691c7c9d222481a3b595421266dab424'
  const response = (status: string, error: unknown = null) => ({
    id: responseId,
    object: 'response',
    created_at: 1763474589,
    status,
    error,
    incomplete_details: null,
    model: 'gpt-5-nano-2025-08-07',
    output: [],
    usage: null,
  })
  const created = { type: 'response.created', sequence_number: 0, response: response('in_progress') }
  const quota = 'You exceeded your current quota, please check your plan and billing details.'
  // What the API sends when the quota is spent: an `error` event with the error nested, then response.failed.
  const quotaStream = sse(
    [
      created,
      {
        type: 'error',
        sequence_number: 1,
        error: { type: 'insufficient_quota', code: 'insufficient_quota', message: quota, param: null },
      },
      {
        type: 'response.failed',
        sequence_number: 2,
        response: response('failed', { code: 'insufficient_quota', message: quota }),
      },
    ],
    { named: true },
  )

  it('maps a spent quota in the stream to rate-limited, not retryable, and does not retry it', async () => {
    fake().reply({ body: quotaStream })
    const { error } = await collect(withRetry(model(), { initialDelayMs: 1 }).stream(hello))
    expect(error).toMatchObject({ reason: 'rate-limited', retryable: false, provider: 'openai-responses' })
    expect(error?.message).toContain('exceeded your current quota')
    expect(fake().requests).toHaveLength(1)
  })

  const errorEvent = (code: string, type: string | null, nested: boolean) => {
    const error = { type, code, message: `${code} happened`, param: null }
    return nested
      ? { type: 'error', sequence_number: 1, error }
      : { type: 'error', sequence_number: 1, code, message: error.message, param: null }
  }

  it.each([
    // code, expected reason, retryable, error type
    ['insufficient_quota', 'rate-limited', false, 'insufficient_quota'],
    ['rate_limit_exceeded', 'rate-limited', true, 'requests'],
    ['server_error', 'overloaded', true, 'server_error'],
    ['context_length_exceeded', 'context-overflow', false, 'invalid_request_error'],
    ['invalid_value', 'bad-request', false, 'invalid_request_error'],
    ['invalid_api_key', 'auth', false, 'invalid_request_error'],
  ] as const)(
    'maps an error event with code %s (nested and flat) to %s',
    async (code, reason, retryable, type) => {
      for (const nested of [true, false]) {
        fake().reply({ body: sse([created, errorEvent(code, type, nested)], { named: true }) })
        const { error } = await collect(model().stream(hello))
        expect({ nested, reason: error?.reason, retryable: error?.retryable }).toEqual({
          nested,
          reason,
          retryable,
        })
      }
    },
  )

  it.each([
    ['rate_limit_exceeded', 'rate-limited', true],
    ['server_error', 'overloaded', true],
    ['vector_store_timeout', 'timeout', true],
    ['invalid_prompt', 'bad-request', false],
    ['invalid_image_url', 'bad-request', false],
    ['image_too_large', 'bad-request', false],
    ['image_content_policy_violation', 'content-filtered', false],
    ['bio_policy', 'content-filtered', false],
  ] as const)('maps response.failed with code %s to %s', async (code, reason, retryable) => {
    const failed = {
      type: 'response.failed',
      sequence_number: 1,
      response: response('failed', { code, message: code }),
    }
    fake().reply({ body: sse([created, failed], { named: true }) })
    const { error } = await collect(model().stream(hello))
    expect({ reason: error?.reason, retryable: error?.retryable }).toEqual({ reason, retryable })
  })
})

describe('openai responses translation', () => {
  it('sends items with reasoning, message and function-call ids, and outputs, exactly', async () => {
    fake().reply({ fixture: 'openai-responses/text.sse' })
    await collectOk(
      model().stream({
        messages: conversation,
        tools: [weatherTool],
        toolChoice: 'auto',
        responseFormat: { type: 'json', schema: { type: 'object' } },
        maxOutputTokens: 100,
        temperature: 0.5,
        providerOptions: { 'openai-responses': { reasoning: { effort: 'low', summary: 'auto' } } },
      }),
    )
    expect(fake().requests[0]?.body).toEqual({
      model: 'o4-mini',
      stream: true,
      input: [
        { role: 'system', content: 'You are terse.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this, and the weather?' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
            { type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'auto' },
          ],
        },
        {
          type: 'reasoning',
          id: 'rs_1',
          summary: [{ type: 'summary_text', text: 'Think.' }],
          encrypted_content: 'enc-1',
        },
        {
          type: 'message',
          role: 'assistant',
          id: 'msg_1',
          status: 'completed',
          content: [{ type: 'output_text', text: 'A cat.', annotations: [] }],
        },
        {
          type: 'function_call',
          call_id: 'call_1',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
          id: 'fc_1',
        },
        { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Tokyo"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"celsius":21}' },
        { type: 'function_call_output', call_id: 'call_2', output: 'Error: upstream timeout' },
      ],
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: weatherTool.inputSchema,
          strict: false,
        },
      ],
      tool_choice: 'auto',
      text: { format: { type: 'json_schema', name: 'response', schema: { type: 'object' }, strict: false } },
      max_output_tokens: 100,
      temperature: 0.5,
      reasoning: { effort: 'low', summary: 'auto' },
    })
  })

  it('sends a streamed reasoning item back unchanged on the next call', async () => {
    fake().reply({ fixture: 'openai-responses/reasoning.sse' }, { fixture: 'openai-responses/text.sse' })
    const stored = JSON.parse(JSON.stringify(assistantFrom(await collectOk(model().stream(hello)))))
    await collectOk(
      model().stream({ messages: [...hello.messages, stored, { role: 'user', content: 'More' }] }),
    )
    expect(fake().requests[1]?.body.input.slice(1, 3)).toEqual([
      {
        type: 'reasoning',
        id: 'rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7',
        summary: [{ type: 'summary_text', text: '**Planning** the answer.\n\nChecking.' }],
        encrypted_content: 'gAAAAABoISQ24OyVRYbkYfukdxgHvPsoVP',
      },
      {
        type: 'message',
        role: 'assistant',
        id: 'msg_after_reasoning',
        status: 'completed',
        content: [{ type: 'output_text', text: '42', annotations: [] }],
      },
    ])
  })

  it('warns that seed and stop sequences are not supported', async () => {
    fake().reply({ fixture: 'openai-responses/text.sse' })
    const parts = await collectOk(model().stream({ ...hello, seed: 1, stopSequences: ['x'] }))
    expect(ofType(parts, 'warning').map((part) => part.message)).toEqual([
      "openai responses does not support 'seed'; ignored",
      "openai responses does not support 'stopSequences'; ignored",
    ])
    expect(fake().requests[0]?.body).not.toHaveProperty('seed')
  })
})
