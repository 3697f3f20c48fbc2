import {
  type AssistantMessage,
  assertWellFormedStream,
  defineTool,
  type LanguageModel,
  type Message,
  type ModelPart,
  type ModelRequest,
  type StreamPart,
} from '@vel/core'

/** The benchmark's model: a pure function of the conversation (see shared/BENCHMARKS.md). */
export const countToolResults = (messages: ReadonlyArray<Message>): number[] =>
  messages.flatMap((message) =>
    message.role === 'tool'
      ? message.content.map((part) => ('output' in part ? Number(part.output) : Number.NaN))
      : [],
  )

export const addTool = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  input: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
    additionalProperties: false,
  },
  handler: ({ a, b }: { a: number; b: number }) => a + b,
  sideEffects: 'none',
})

export const stepsOf = (request: ModelRequest): number => {
  const first = request.messages.find((message) => message.role === 'user')
  const text = typeof first?.content === 'string' ? first.content : ''
  return Number(/steps=(\d+)/.exec(text)?.[1] ?? 1)
}

export const partTypes = (parts: ReadonlyArray<StreamPart>): string[] => parts.map((part) => part.type)

export async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const all: StreamPart[] = []
  for await (const part of parts) all.push(part)
  assertWellFormedStream(all)
  return all
}

export const lastMessage = (request: ModelRequest): Message | undefined => request.messages.at(-1)

export type { AssistantMessage, LanguageModel, ModelPart }

/** What a scripted turn returns. */
export interface ScriptedTurn {
  text?: string
  toolCalls?: Array<{ id: string; name: string; input: unknown }>
  usage?: { inputTokens: number; outputTokens: number; reasoningTokens: number; cachedInputTokens: number }
}

/** A model computed from each request (temporary until @vel/providers/testing lands). */
export function scripted(
  respond: (request: ModelRequest, options: { signal?: AbortSignal }) => ScriptedTurn | Promise<ScriptedTurn>,
): LanguageModel {
  return {
    provider: 'scripted',
    modelId: 'scripted',
    async *stream(request, options = {}) {
      const turn = await respond(request, options)
      if (turn.text !== undefined) {
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: turn.text }
        yield { type: 'text-end', id: 't' }
      }
      for (const call of turn.toolCalls ?? []) {
        const input = JSON.stringify(call.input)
        yield { type: 'tool-input-start', id: call.id, toolName: call.name }
        yield { type: 'tool-input-delta', id: call.id, delta: input }
        yield { type: 'tool-input-end', id: call.id }
        yield { type: 'tool-call', toolCallId: call.id, toolName: call.name, input }
      }
      yield {
        type: 'finish',
        finishReason: turn.toolCalls?.length ? 'tool-calls' : 'stop',
        usage: turn.usage ?? { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
      }
    },
  }
}
