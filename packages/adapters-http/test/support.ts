import { Agent, contactHuman, createRuntime, type Runtime } from '@vel/actors'
import {
  defineTool,
  type JsonValue,
  type LanguageModel,
  type Message,
  type ModelRequest,
  type StreamPart,
} from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import {
  AbstractChat,
  type ChatState,
  type ChatStatus,
  DefaultChatTransport,
  type HttpChatTransportInitOptions,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
} from 'ai'
import { expect } from 'vitest'
import { createHttpApp, type HttpAppOptions } from '../src/index.ts'

/** What one scripted model turn answers. */
export interface Turn {
  readonly text?: string
  readonly toolCalls?: ReadonlyArray<{
    readonly id: string
    readonly name: string
    readonly input: JsonValue
  }>
}

/** The shared scripted model, answering from each request; text streams in word-sized deltas. */
export function scriptedModel(respond: (request: ModelRequest) => Turn): LanguageModel {
  return createScriptedModel({
    usage: { inputTokens: 10, outputTokens: 5 },
    respond: (request) => {
      const turn = respond(request)
      return {
        ...(turn.text === undefined ? {} : { text: turn.text.split(/(?<= )/) }),
        ...(turn.toolCalls === undefined ? {} : { toolCalls: turn.toolCalls }),
      }
    },
  })
}

const textOf = (message: Message | undefined): string =>
  message === undefined || typeof message.content === 'string'
    ? ((message?.content as string | undefined) ?? '')
    : message.content.map((part) => ('text' in part ? part.text : '')).join('')

/** The tool results the model is answering, if the last message is a tool message. */
const toolResults = (request: ModelRequest) => {
  const last = request.messages.at(-1)
  return last?.role === 'tool' ? last.content : undefined
}

/** `echo`: answers `You said: <message>` (and how many user turns the session has). */
export const echoAgent = new Agent({
  id: 'echo',
  model: scriptedModel((request) => {
    const users = request.messages.filter((message) => message.role === 'user')
    return { text: `You said: ${textOf(users.at(-1))} (turn ${users.length})` }
  }),
  policies: { retry: false },
})

/** Transfers made by the `banker` agent's tool, for assertions. */
export const transfers: number[] = []

/** `banker`: `balance` runs at once; `transfer` needs a human's approval. */
export const bankerAgent = new Agent({
  id: 'banker',
  model: scriptedModel((request) => {
    const results = toolResults(request)
    if (results !== undefined)
      return {
        text: results
          .map((result) =>
            'output' in result ? `Done: ${JSON.stringify(result.output)}` : `Failed: ${result.error}`,
          )
          .join(' '),
      }
    const text = textOf(request.messages.at(-1))
    const id = `call-${request.messages.length}`
    if (text.includes('transfer')) return { toolCalls: [{ id, name: 'transfer', input: { amount: 10 } }] }
    if (text.includes('balance')) return { toolCalls: [{ id, name: 'balance', input: {} }] }
    return { text: 'How can I help?' }
  }),
  tools: [
    defineTool({
      name: 'balance',
      description: 'The balance.',
      input: { type: 'object', properties: {}, additionalProperties: false },
      handler: () => ({ balance: 100 }),
      sideEffects: 'none',
    }),
    defineTool({
      name: 'transfer',
      description: 'Moves money.',
      input: {
        type: 'object',
        properties: { amount: { type: 'number' } },
        required: ['amount'],
        additionalProperties: false,
      },
      handler: ({ amount }: { amount: number }) => {
        transfers.push(amount)
        return { transferred: amount }
      },
      needsApproval: true,
      sideEffects: 'unsafe',
    }),
  ],
  policies: { retry: false },
})

/** `asker`: asks a human which account to use, then answers with it. */
export const askerAgent = new Agent({
  id: 'asker',
  model: scriptedModel((request) => {
    const results = toolResults(request)
    if (results !== undefined)
      return { text: `Using ${results.map((r) => ('output' in r ? String(r.output) : r.error)).join()}` }
    return {
      toolCalls: [
        { id: `ask-${request.messages.length}`, name: 'contactHuman', input: { question: 'Which account?' } },
      ],
    }
  }),
  tools: [contactHuman],
  policies: { retry: false },
})

/** A promise the test resolves. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/** Gates of the `stepper` agent's `wait` tool, one per call, opened by the test. */
export const stepperGates: Array<ReturnType<typeof gate>> = []

/** `stepper`: calls `wait` three times (each blocks until the test opens its gate), then answers. */
export const stepperAgent = new Agent({
  id: 'stepper',
  model: scriptedModel((request) => {
    const calls = request.messages.filter((message) => message.role === 'tool').length
    if (calls >= 3) return { text: `Finished after ${calls} waits.` }
    return { text: `Step ${calls + 1}.`, toolCalls: [{ id: `wait-${calls + 1}`, name: 'wait', input: {} }] }
  }),
  tools: [
    defineTool({
      name: 'wait',
      description: 'Waits for the test.',
      input: { type: 'object', properties: {}, additionalProperties: false },
      handler: async () => {
        const next = gate()
        stepperGates.push(next)
        await next.promise
        return 'waited'
      },
      sideEffects: 'idempotent',
    }),
  ],
  policies: { retry: false },
})

/** A fresh runtime over a memory store with the test agents, and an app over it. */
export function setup(options: Omit<HttpAppOptions, 'runtime'> = {}): {
  runtime: Runtime
  app: ReturnType<typeof createHttpApp>
} {
  const runtime = createRuntime({
    store: createMemoryStore(),
    agents: [echoAgent, bankerAgent, askerAgent, stepperAgent],
    onError: () => undefined,
  })
  return { runtime, app: createHttpApp({ ...options, runtime }) }
}

/** One SSE event. */
export interface SseEvent {
  readonly id: string | undefined
  readonly data: string
}

/** Parses a complete SSE text into events (enough of the spec for our frames). */
export function parseSse(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let id: string | undefined
      const data: string[] = []
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('id:')) id = line.slice(3).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      return { id, data: data.join('\n'), comment: data.length === 0 }
    })
    .filter((event) => !event.comment)
    .map(({ id, data }) => ({ id, data }))
}

/** The stream parts of SSE events, checking that `[DONE]` comes last and once. */
export function partsOf(events: ReadonlyArray<SseEvent>): StreamPart[] {
  const done = events.findIndex((event) => event.data === '[DONE]')
  if (done !== events.length - 1) throw new Error(`[DONE] at ${done} of ${events.length} events`)
  return events.slice(0, -1).map((event) => JSON.parse(event.data) as StreamPart)
}

/** JSON request init with an optional bearer token. */
export function post(body: unknown, token?: string): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  }
}

/** The UI message the AI SDK assembles from `parts`, continuing `message` if given (as `useChat` does). */
export async function assemble(parts: ReadonlyArray<StreamPart>, message?: UIMessage): Promise<UIMessage> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const part of parts) controller.enqueue(part as UIMessageChunk)
      controller.close()
    },
  })
  let last: UIMessage | undefined
  for await (const snapshot of readUIMessageStream<UIMessage>({ stream, ...(message ? { message } : {}) }))
    last = structuredClone(snapshot)
  if (last === undefined) throw new Error('no message assembled')
  return last
}

/** Reads SSE events off a live response until `stop` says so (or the stream ends). */
export async function readUntil(response: Response, stop: (event: SseEvent) => boolean): Promise<SseEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const events: SseEvent[] = []
  let buffer = ''
  while (true) {
    const { done, value } = await reader.read()
    if (done) return events
    buffer += decoder.decode(value, { stream: true })
    const end = buffer.lastIndexOf('\n\n')
    if (end < 0) continue
    for (const event of parseSse(buffer.slice(0, end + 2))) {
      events.push(event)
      if (stop(event)) {
        await reader.cancel()
        return events
      }
    }
    buffer = buffer.slice(end + 2)
  }
}

/**
 * The AI SDK's own chat (`AbstractChat`, which `@ai-sdk/react`'s `useChat` wraps) with its state in
 * an array, as the framework bindings keep it in theirs, over the default transport.
 */
export class TestChat extends AbstractChat<UIMessage> {
  constructor(id: string, transport: HttpChatTransportInitOptions<UIMessage>) {
    let messages: UIMessage[] = []
    let status: ChatStatus = 'ready'
    let error: Error | undefined
    const state: ChatState<UIMessage> = {
      get status() {
        return status
      },
      set status(next) {
        status = next
      },
      get error() {
        return error
      },
      set error(next) {
        error = next
      },
      get messages() {
        return messages
      },
      set messages(next) {
        messages = next
      },
      pushMessage: (message) => {
        messages = [...messages, message]
      },
      popMessage: () => {
        messages = messages.slice(0, -1)
      },
      replaceMessage: (index, message) => {
        messages = [...messages.slice(0, index), message, ...messages.slice(index + 1)]
      },
      snapshot: (thing) => structuredClone(thing),
    }
    super({
      id,
      state,
      transport: new DefaultChatTransport<UIMessage>(transport),
    })
  }

  /** What the chat shows: one `role: text` line per message, tools named as the model sees them. */
  shown(): string[] {
    return this.messages.map((message) => {
      const text = message.parts
        .map((part) =>
          part.type === 'text'
            ? part.text
            : part.type.startsWith('tool-')
              ? `[${(part as { state: string }).state} ${part.type.slice(5)}]`
              : '',
        )
        .join('')
      return `${message.role}: ${text}`
    })
  }

  /** Throws what the chat reported, so a failed request fails the test. */
  check(): void {
    if (this.error !== undefined) throw this.error
    expect(this.status).toBe('ready')
  }
}
