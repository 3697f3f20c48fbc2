import {
  assertWellFormedStream,
  defineTool,
  type LanguageModel,
  type ModelRequest,
  type StreamPart,
} from '@vel/core'
import { createScriptedModel, type ScriptedResponse } from '@vel/providers/testing'

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

/** A scripted model computed from each request: `@vel/providers/testing`'s, without recording. */
export function scripted(
  respond: (
    request: ModelRequest,
    options: { signal?: AbortSignal },
  ) => ScriptedResponse | Promise<ScriptedResponse>,
): LanguageModel {
  return createScriptedModel({
    record: false,
    respond: (request, { signal }) => respond(request, signal === undefined ? {} : { signal }),
  })
}
