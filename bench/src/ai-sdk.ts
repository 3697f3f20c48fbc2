/**
 * A peer: the Vercel AI SDK's own tool loop (`generateText` with `stopWhen`), the scripted model as
 * a `LanguageModelV3`, and the `add` tool with the workload's JSON Schema. The AI SDK keeps no
 * history, so sessions are the response messages kept in a Map, as an application would.
 */
import type { LanguageModelV3, LanguageModelV3CallOptions } from '@ai-sdk/provider'
import { generateText, jsonSchema, type ModelMessage, stepCountIs, tool } from 'ai'
import { addDescription, addInputSchema, decide, stepsIn } from './script.ts'

const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
}

/** Reads the prompt and the tool results from the call, answers with `decide`. */
const scriptedModel: LanguageModelV3 = {
  specificationVersion: 'v3',
  provider: 'scripted',
  modelId: 'scripted',
  supportedUrls: {},
  async doGenerate(options: LanguageModelV3CallOptions) {
    let prompt = ''
    const results: Array<number | undefined> = []
    for (const message of options.prompt) {
      if (message.role === 'user' && prompt === '')
        for (const part of message.content) if (part.type === 'text') prompt = part.text
      if (message.role === 'tool')
        for (const part of message.content)
          if (part.type === 'tool-result')
            results.push(part.output.type === 'json' ? Number(part.output.value) : undefined)
    }
    const decision = decide(stepsIn(prompt), results)
    return decision.type === 'call'
      ? {
          content: [
            {
              type: 'tool-call' as const,
              toolCallId: decision.id,
              toolName: 'add',
              input: JSON.stringify({ a: decision.a, b: decision.b }),
            },
          ],
          finishReason: { unified: 'tool-calls' as const, raw: undefined },
          usage,
          warnings: [],
        }
      : {
          content: [{ type: 'text' as const, text: decision.text }],
          finishReason: { unified: 'stop' as const, raw: undefined },
          usage,
          warnings: [],
        }
  },
  doStream() {
    throw new Error('the benchmark does not stream')
  },
}

const tools = {
  add: tool({
    description: addDescription,
    inputSchema: jsonSchema<{ a: number; b: number }>(addInputSchema),
    execute: async ({ a, b }) => a + b,
  }),
}

const textOf = (message: ModelMessage): string =>
  typeof message.content === 'string'
    ? message.content
    : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')

export function createAiSdk() {
  const sessions = new Map<string, ModelMessage[]>()
  return {
    async run(prompt: string, sessionId: string): Promise<string> {
      const messages: ModelMessage[] = [...(sessions.get(sessionId) ?? []), { role: 'user', content: prompt }]
      const result = await generateText({
        model: scriptedModel,
        tools,
        messages,
        stopWhen: stepCountIs(stepsIn(prompt) + 1),
      })
      sessions.set(sessionId, [...messages, ...result.response.messages])
      return result.text
    },
    async conversation(sessionId: string): Promise<string[]> {
      return (sessions.get(sessionId) ?? []).map((message) => {
        if (message.role === 'tool') {
          const part = message.content.find((each) => each.type === 'tool-result')
          return `tool:${part?.output.type === 'json' ? String(part.output.value) : ''}`
        }
        return `${message.role === 'user' ? 'human' : 'ai'}:${textOf(message)}`
      })
    },
  }
}
