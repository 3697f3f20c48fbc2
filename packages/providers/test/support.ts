import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AssistantMessage,
  type Message,
  type ModelPart,
  ProviderError,
  parseToolInput,
  type ReasoningPart,
  type TextPart,
  type ToolCallPart,
  type ToolSpec,
} from '@vel/core'
import { afterAll, beforeAll, beforeEach } from 'vitest'

/** One scripted HTTP reply of the fake server. */
export interface Reply {
  readonly status?: number
  readonly headers?: Record<string, string>
  /** A file under test/__fixtures__, e.g. `anthropic/text.sse` (served as text/event-stream). */
  readonly fixture?: string
  /** A JSON body (served as application/json). */
  readonly json?: unknown
  /** A body written in the test, e.g. built with `sse(...)` (served as text/event-stream). */
  readonly body?: string
  /** Write this many bytes of the body, then destroy the socket (a dropped connection). */
  readonly dropAfterBytes?: number
  /** Write this many bytes, then stay silent with the connection open (a stalled stream). */
  readonly stallAfterBytes?: number
}

/** A request the fake server received, body parsed as JSON. */
export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are inspected freely in tests
  readonly body: any
}

export const fixture = (name: string): string =>
  readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')

/**
 * Server-sent events as the vendors write them: one `data:` line per event, with an `event:` line
 * naming its `type` when `named` (Anthropic, OpenAI Responses) and a final `data: [DONE]` when `done`
 * (OpenAI Chat Completions).
 */
export function sse(
  events: ReadonlyArray<Record<string, unknown>>,
  options: { named?: boolean; done?: boolean } = {},
): string {
  const frames = events.map(
    (event) => `${options.named ? `event: ${String(event.type)}\n` : ''}data: ${JSON.stringify(event)}\n\n`,
  )
  if (options.done) frames.push('data: [DONE]\n\n')
  return frames.join('')
}

/** A node:http server on 127.0.0.1 that replays scripted replies in order and records requests. */
export interface FakeServer {
  readonly url: string
  readonly requests: Received[]
  reply(...replies: Reply[]): void
  /** Drops replies not yet served and the recorded requests, so one test's leftovers cannot reach the next. */
  reset(): void
  close(): Promise<void>
}

export async function startFakeServer(): Promise<FakeServer> {
  const queue: Reply[] = []
  const requests: Received[] = []
  const stalled = new Set<ServerResponse>()
  const server: Server = createServer((request, response) => {
    let raw = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      raw += chunk
    })
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: raw === '' ? undefined : JSON.parse(raw),
      })
      serve(queue.shift(), response, stalled)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    reset: () => {
      queue.length = 0
      requests.length = 0
    },
    close: async () => {
      for (const response of stalled) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function serve(reply: Reply | undefined, response: ServerResponse, stalled: Set<ServerResponse>): void {
  if (reply === undefined) {
    response.writeHead(500, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ error: { message: 'fake server: no reply scripted' } }))
    return
  }
  const isJson = reply.json !== undefined
  const body = isJson
    ? JSON.stringify(reply.json)
    : (reply.body ?? (reply.fixture === undefined ? '' : fixture(reply.fixture)))
  response.writeHead(reply.status ?? 200, {
    'content-type': isJson ? 'application/json' : 'text/event-stream',
    ...reply.headers,
  })
  const bytes = Buffer.from(body)
  if (reply.dropAfterBytes !== undefined) {
    response.write(bytes.subarray(0, reply.dropAfterBytes), () => setTimeout(() => response.destroy(), 10))
    return
  }
  if (reply.stallAfterBytes !== undefined) {
    stalled.add(response)
    response.write(bytes.subarray(0, reply.stallAfterBytes))
    return
  }
  response.end(bytes)
}

/** Collects a model stream; a failure is returned with the parts yielded before it. */
export async function collect(
  parts: AsyncIterable<ModelPart>,
): Promise<{ parts: ModelPart[]; error: ProviderError | undefined }> {
  const all: ModelPart[] = []
  try {
    for await (const part of parts) all.push(part)
    return { parts: all, error: undefined }
  } catch (error) {
    if (!ProviderError.isInstance(error)) throw error
    return { parts: all, error }
  }
}

/** Collects a stream that must succeed. */
export async function collectOk(parts: AsyncIterable<ModelPart>): Promise<ModelPart[]> {
  const result = await collect(parts)
  if (result.error !== undefined) throw result.error
  return result.parts
}

export const textOf = (parts: ReadonlyArray<ModelPart>): string =>
  parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')

export const reasoningOf = (parts: ReadonlyArray<ModelPart>): string =>
  parts.map((part) => (part.type === 'reasoning-delta' ? part.delta : '')).join('')

export const ofType = <T extends ModelPart['type']>(parts: ReadonlyArray<ModelPart>, type: T) =>
  parts.filter((part): part is Extract<ModelPart, { type: T }> => part.type === type)

export const finishOf = (parts: ReadonlyArray<ModelPart>) => {
  const finishes = ofType(parts, 'finish')
  if (finishes.length !== 1) throw new Error(`expected exactly one finish, got ${finishes.length}`)
  return finishes[0] as Extract<ModelPart, { type: 'finish' }>
}

/** Assembles an assistant message from parts the way the runtime does (metadata copied from *-end and tool-call parts). */
export function assistantFrom(parts: ReadonlyArray<ModelPart>): AssistantMessage {
  const content: Array<TextPart | ReasoningPart | ToolCallPart> = []
  const open = new Map<string, { type: 'text' | 'reasoning'; text: string }>()
  for (const part of parts) {
    if (part.type === 'text-start' || part.type === 'reasoning-start')
      open.set(part.id, { type: part.type === 'text-start' ? 'text' : 'reasoning', text: '' })
    else if (part.type === 'text-delta' || part.type === 'reasoning-delta') {
      const block = open.get(part.id)
      if (block) block.text += part.delta
    } else if (part.type === 'text-end' || part.type === 'reasoning-end') {
      const block = open.get(part.id)
      if (block)
        content.push({
          type: block.type,
          text: block.text,
          ...(part.providerMetadata ? { providerMetadata: part.providerMetadata } : {}),
        })
    } else if (part.type === 'tool-call') {
      const parsed = parseToolInput(part.input)
      content.push({
        type: 'tool-call',
        id: part.toolCallId,
        name: part.toolName,
        input: parsed.ok ? parsed.value : part.input,
        ...(part.providerMetadata ? { providerMetadata: part.providerMetadata } : {}),
      })
    }
  }
  return { role: 'assistant', content }
}

/** A conversation exercising every translation: system, images, reasoning, parallel calls, an error result. */
export const conversation: Message[] = [
  { role: 'system', content: 'You are terse.' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'What is this, and the weather?' },
      { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' },
      { type: 'image', url: 'https://example.com/cat.jpg' },
    ],
  },
  {
    role: 'assistant',
    content: [
      {
        type: 'reasoning',
        text: 'Think.',
        providerMetadata: {
          anthropic: { signature: 'sig-1' },
          gemini: { thoughtSignature: 'gsig-1' },
          'openai-responses': { itemId: 'rs_1', encryptedContent: 'enc-1' },
        },
      },
      { type: 'text', text: 'A cat.', providerMetadata: { 'openai-responses': { itemId: 'msg_1' } } },
      {
        type: 'tool-call',
        id: 'call_1',
        name: 'get_weather',
        input: { city: 'Paris' },
        providerMetadata: { 'openai-responses': { itemId: 'fc_1' }, gemini: { thoughtSignature: 'gsig-2' } },
      },
      { type: 'tool-call', id: 'call_2', name: 'get_weather', input: { city: 'Tokyo' } },
    ],
  },
  {
    role: 'tool',
    content: [
      { type: 'tool-result', toolCallId: 'call_1', toolName: 'get_weather', output: { celsius: 21 } },
      { type: 'tool-result', toolCallId: 'call_2', toolName: 'get_weather', error: 'upstream timeout' },
    ],
  },
]

export const weatherTool: ToolSpec = {
  name: 'get_weather',
  description: 'Weather for a city',
  inputSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
}

/**
 * Starts one fake server for the test file (closed after it) and resets it (pending replies and
 * recorded requests) before each test. Read it through the returned getter inside tests.
 */
export function useFakeServer(): () => FakeServer {
  let server: FakeServer | undefined
  beforeAll(async () => {
    server = await startFakeServer()
  })
  afterAll(() => server?.close())
  beforeEach(() => server?.reset())
  return () => {
    if (server === undefined) throw new Error('the fake server is not started yet')
    return server
  }
}
