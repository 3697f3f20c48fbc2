import type { Message } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createGeminiModel } from '../src/gemini.ts'
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

const model = () => createGeminiModel({ model: 'gemini-2.5-flash', apiKey: 'g-test', baseURL: fake().url })
const hello = { messages: [{ role: 'user', content: 'Hi' }] as Message[] }
const googleError = (code: number, status: string, message: string, details: unknown[] = []) => ({
  error: { code, message, status, details },
})

describe('gemini streaming', () => {
  it('streams text with usage, from the SSE endpoint', async () => {
    fake().reply({ fixture: 'gemini/text.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(textOf(parts)).toBe('Hello, world!')
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 8, outputTokens: 4, reasoningTokens: 0, cachedInputTokens: 2 },
    })
    expect(fake().requests[0]?.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
    expect(fake().requests[0]?.headers['x-goog-api-key']).toBe('g-test')
  })

  it('maps MAX_TOKENS and SAFETY', async () => {
    fake().reply({ fixture: 'gemini/max-tokens.sse' }, { fixture: 'gemini/safety.sse' })
    expect(finishOf(await collectOk(model().stream(hello))).finishReason).toBe('length')
    expect(finishOf(await collectOk(model().stream(hello))).finishReason).toBe('content-filter')
  })

  it('synthesizes stable call ids when Gemini gives none and keeps the thought signature', async () => {
    fake().reply({ fixture: 'gemini/tool-call.sse' }, { fixture: 'gemini/tool-call.sse' })
    const first = await collectOk(model().stream(hello))
    const second = await collectOk(model().stream(hello))
    expect(ofType(first, 'tool-call')).toEqual([
      {
        type: 'tool-call',
        toolCallId: 'gemini-call-0-0',
        toolName: 'get_weather',
        input: '{"city":"Paris"}',
        providerMetadata: { gemini: { thoughtSignature: 'CiQB0e2Kb8+sig/one==' } },
      },
    ])
    expect(ofType(second, 'tool-call')).toEqual(ofType(first, 'tool-call'))
    expect(finishOf(first).finishReason).toBe('tool-calls')
  })

  it('opens no empty text block for the empty text part Gemini 3 sends after a function call', async () => {
    const usageMetadata = {
      promptTokenCount: 29,
      candidatesTokenCount: 15,
      totalTokenCount: 89,
      thoughtsTokenCount: 45,
    }
    const chunk = (parts: unknown[], finishReason?: string) => ({
      candidates: [
        { content: { parts, role: 'model' }, index: 0, ...(finishReason ? { finishReason } : {}) },
      ],
      usageMetadata,
      modelVersion: 'gemini-3-pro-preview',
      responseId: 'b36LacjwM668nsEP2tbsgQQ',
    })
    fake().reply({
      body: sse([
        chunk([
          {
            functionCall: { name: 'weather', args: { location: 'San Francisco' } },
            thoughtSignature: 'EqUCCqIC',
          },
        ]),
        chunk([{ text: '' }], 'STOP'),
      ]),
    })
    const parts = await collectOk(model().stream(hello))
    expect(parts.map((part) => part.type)).toEqual([
      'response-metadata',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-end',
      'tool-call',
      'finish',
    ])
    expect(assistantFrom(parts).content).toEqual([
      {
        type: 'tool-call',
        id: 'gemini-call-0-0',
        name: 'weather',
        input: { location: 'San Francisco' },
        providerMetadata: { gemini: { thoughtSignature: 'EqUCCqIC' } },
      },
    ])
    expect(finishOf(parts)).toMatchObject({
      finishReason: 'tool-calls',
      usage: { inputTokens: 29, outputTokens: 60 },
    })
  })

  it('streams parallel calls with distinct ids, and uses ids Gemini does give', async () => {
    fake().reply({ fixture: 'gemini/parallel-tools.sse' }, { fixture: 'gemini/empty-args.sse' })
    const calls = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(calls.map((call) => [call.toolCallId, call.input])).toEqual([
      ['gemini-call-0-0', '{"city":"Paris"}'],
      ['gemini-call-0-1', '{"city":"Tokyo"}'],
    ])
    const [empty] = ofType(await collectOk(model().stream(hello)), 'tool-call')
    expect(empty).toMatchObject({ toolCallId: 'fc-given-id', input: '{}' })
  })

  it('streams thoughts as reasoning and puts the signature on the text block it came with', async () => {
    fake().reply({ fixture: 'gemini/thinking.sse' })
    const parts = await collectOk(model().stream(hello))
    expect(reasoningOf(parts)).toBe('**Considering the question**\nThe user asks for 6*7.')
    expect(textOf(parts)).toBe('The answer is 42.')
    expect(ofType(parts, 'text-end')).toEqual([
      {
        type: 'text-end',
        id: 'text-1',
        providerMetadata: { gemini: { thoughtSignature: 'Ct8BAdHtim9+text/sig==' } },
      },
    ])
    expect(finishOf(parts).usage).toEqual({
      inputTokens: 10,
      outputTokens: 125,
      reasoningTokens: 120,
      cachedInputTokens: 0,
    })
  })
})

describe('gemini failures', () => {
  it('maps a 429 with a RetryInfo delay and the retry-after header', async () => {
    fake().reply(
      {
        status: 429,
        json: googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', [
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '13s' },
        ]),
      },
      {
        status: 429,
        headers: { 'retry-after': '4' },
        json: googleError(429, 'RESOURCE_EXHAUSTED', 'slow down'),
      },
    )
    expect((await collect(model().stream(hello))).error).toMatchObject({
      reason: 'rate-limited',
      retryable: true,
      retryAfterMs: 13_000,
      status: 429,
      provider: 'gemini',
    })
    expect((await collect(model().stream(hello))).error).toMatchObject({ retryAfterMs: 4000 })
    expect(fake().requests).toHaveLength(2) // no SDK retries
  })

  it('retries a 500 through withRetry, not a 400; maps 401/403 to auth', async () => {
    fake().reply(
      { status: 500, json: googleError(500, 'INTERNAL', 'An internal error has occurred') },
      { fixture: 'gemini/text.sse' },
      { status: 400, json: googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.') },
      { status: 403, json: googleError(403, 'PERMISSION_DENIED', 'API key not valid.') },
    )
    const retrying = withRetry(model(), { initialDelayMs: 1 })
    expect(textOf(await collectOk(retrying.stream(hello)))).toBe('Hello, world!')
    expect((await collect(retrying.stream(hello))).error).toMatchObject({
      reason: 'bad-request',
      retryable: false,
    })
    expect((await collect(model().stream(hello))).error).toMatchObject({ reason: 'auth', status: 403 })
    expect(fake().requests).toHaveLength(4)
  })

  it('maps a 400 whose ErrorInfo reason is API_KEY_INVALID to auth, and does not retry it', async () => {
    fake().reply({
      status: 400,
      json: googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
        {
          '@type': 'type.googleapis.com/google.rpc.LocalizedMessage',
          locale: 'en-US',
          message: 'API key not valid. Please pass a valid API key.',
        },
      ]),
    })
    const { error } = await collect(withRetry(model(), { initialDelayMs: 1 }).stream(hello))
    expect(error).toMatchObject({ reason: 'auth', retryable: false, status: 400, provider: 'gemini' })
    expect(error?.message).toContain('API key not valid')
    expect(fake().requests).toHaveLength(1)
  })

  it('reads the body of an error sent inside the stream: RetryInfo delay and ErrorInfo reason', async () => {
    const text = { candidates: [{ content: { parts: [{ text: 'Hel' }], role: 'model' }, index: 0 }] }
    fake().reply(
      {
        body: sse([
          text,
          googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted', [
            { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' },
          ]),
        ]),
      },
      {
        body: sse([
          text,
          googleError(400, 'INVALID_ARGUMENT', 'API key expired. Please renew the API key.', [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'API_KEY_INVALID',
              domain: 'googleapis.com',
            },
          ]),
        ]),
      },
    )
    const limited = await collect(model().stream(hello))
    expect(textOf(limited.parts)).toBe('Hel')
    expect(limited.error).toMatchObject({ reason: 'rate-limited', retryAfterMs: 7000, status: 429 })
    expect((await collect(model().stream(hello))).error).toMatchObject({ reason: 'auth', status: 400 })
  })

  it('maps a malformed chunk and a dropped connection', async () => {
    fake().reply({ fixture: 'gemini/malformed.sse' }, { fixture: 'gemini/thinking.sse', dropAfterBytes: 500 })
    const malformed = await collect(model().stream(hello))
    expect(malformed.error?.reason).toBe('invalid-response')
    expect(textOf(malformed.parts)).toBe('Hel')
    expect((await collect(model().stream(hello))).error).toMatchObject({ reason: 'network', retryable: true })
  })
})

describe('gemini translation', () => {
  it('sends contents, signatures, function responses and a converted schema, exactly', async () => {
    fake().reply({ fixture: 'gemini/text.sse' })
    await collectOk(
      model().stream({
        messages: conversation,
        tools: [weatherTool],
        toolChoice: { name: 'get_weather' },
        maxOutputTokens: 100,
        temperature: 0.1,
        topP: 0.8,
        stopSequences: ['END'],
        seed: 3,
        providerOptions: { gemini: { thinkingConfig: { includeThoughts: true } } },
      }),
    )
    const body = fake().requests[0]?.body
    expect(body.contents).toEqual([
      {
        role: 'user',
        parts: [
          { text: 'What is this, and the weather?' },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          { fileData: { fileUri: 'https://example.com/cat.jpg', mimeType: 'image/jpeg' } },
        ],
      },
      {
        role: 'model',
        parts: [
          { text: 'Think.', thought: true, thoughtSignature: 'gsig-1' },
          { text: 'A cat.' },
          {
            functionCall: { id: 'call_1', name: 'get_weather', args: { city: 'Paris' } },
            thoughtSignature: 'gsig-2',
          },
          { functionCall: { id: 'call_2', name: 'get_weather', args: { city: 'Tokyo' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { id: 'call_1', name: 'get_weather', response: { output: { celsius: 21 } } } },
          {
            functionResponse: { id: 'call_2', name: 'get_weather', response: { error: 'upstream timeout' } },
          },
        ],
      },
    ])
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'You are terse.' }] })
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: {
              type: 'OBJECT',
              properties: { city: { type: 'STRING' } },
              required: ['city'],
              propertyOrdering: ['city'],
            },
          },
        ],
      },
    ])
    expect(body.toolConfig).toEqual({
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] },
    })
    expect(body.generationConfig).toMatchObject({
      maxOutputTokens: 100,
      temperature: 0.1,
      topP: 0.8,
      stopSequences: ['END'],
      seed: 3,
      thinkingConfig: { includeThoughts: true },
    })
  })

  it('sends synthesized ids nowhere and streamed signatures back unchanged', async () => {
    fake().reply({ fixture: 'gemini/tool-call.sse' }, { fixture: 'gemini/text.sse' })
    const stored = JSON.parse(JSON.stringify(assistantFrom(await collectOk(model().stream(hello)))))
    const [call] = stored.content
    await collectOk(
      model().stream({
        messages: [
          ...hello.messages,
          stored,
          {
            role: 'tool',
            content: [{ type: 'tool-result', toolCallId: call.id, toolName: 'get_weather', output: 'sunny' }],
          },
        ],
      }),
    )
    expect(fake().requests[1]?.body.contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris' } },
            thoughtSignature: 'CiQB0e2Kb8+sig/one==',
          },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'sunny' } } }] },
    ])
  })

  it('refuses a recursive schema with bad-request before sending anything', async () => {
    const tree = {
      name: 'tree',
      description: 'A tree',
      inputSchema: {
        type: 'object',
        properties: { root: { $ref: '#/$defs/node' } },
        $defs: {
          node: {
            type: 'object',
            properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } },
          },
        },
      },
    }
    const { error } = await collect(model().stream({ ...hello, tools: [tree] }))
    expect(error).toMatchObject({ reason: 'bad-request', retryable: false })
    expect(error?.message).toMatch(/recursive \$ref/)
    expect(fake().requests).toHaveLength(0)
  })
})
