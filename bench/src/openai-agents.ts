/**
 * A peer: the OpenAI Agents SDK's runner (`run` with an `Agent`, a function tool with the
 * workload's JSON Schema, and its `MemorySession`), the scripted model as an Agents SDK `Model`.
 * Tracing is disabled: there is no OpenAI key here, and Vel traces nothing in these workloads either.
 */
import {
  Agent,
  type AgentInputItem,
  MemorySession,
  type Model,
  type ModelRequest,
  type ModelResponse,
  run,
  setTracingDisabled,
  tool,
  Usage,
} from '@openai/agents'
import { addDescription, addInputSchema, decide, stepsIn } from './script.ts'

setTracingDisabled(true)

const textOf = (item: AgentInputItem): string => {
  if (!('content' in item)) return ''
  const content = item.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('')
}

/** Reads the prompt and the tool results from the request's items, answers with `decide`. */
const scriptedModel: Model = {
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const items = typeof request.input === 'string' ? [] : request.input
    let prompt = typeof request.input === 'string' ? request.input : ''
    const results: Array<number | undefined> = []
    for (const item of items) {
      if ('role' in item && item.role === 'user' && prompt === '') prompt = textOf(item)
      if (item.type === 'function_call_result') {
        const output = item.output
        results.push(
          typeof output === 'string'
            ? Number(output)
            : 'text' in output && typeof output.text === 'string'
              ? Number(output.text)
              : undefined,
        )
      }
    }
    const decision = decide(stepsIn(prompt), results)
    return {
      usage: new Usage(),
      output:
        decision.type === 'call'
          ? [
              {
                type: 'function_call',
                callId: decision.id,
                name: 'add',
                arguments: JSON.stringify({ a: decision.a, b: decision.b }),
                status: 'completed',
              },
            ]
          : [
              {
                type: 'message',
                role: 'assistant',
                status: 'completed',
                content: [{ type: 'output_text', text: decision.text }],
              },
            ],
    }
  },
  getStreamedResponse() {
    throw new Error('the benchmark does not stream')
  },
}

const add = tool({
  name: 'add',
  description: addDescription,
  // The workload's schema, with the literal types the SDK's strict-schema type asks for.
  parameters: {
    ...addInputSchema,
    required: ['a', 'b'] as Array<'a' | 'b'>,
    additionalProperties: false as const,
  },
  strict: true,
  execute: async (input) => {
    const { a, b } = input as { a: number; b: number }
    return a + b
  },
})

const agent = new Agent({ name: 'adder', instructions: '', model: scriptedModel, tools: [add] })

export function createOpenAiAgents() {
  const sessions = new Map<string, MemorySession>()
  return {
    async run(prompt: string, sessionId: string): Promise<string> {
      let session = sessions.get(sessionId)
      if (session === undefined) {
        session = new MemorySession({ sessionId })
        sessions.set(sessionId, session)
      }
      const result = await run(agent, prompt, { session, maxTurns: stepsIn(prompt) + 2 })
      return String(result.finalOutput ?? '')
    },
    async conversation(sessionId: string): Promise<string[]> {
      const items = (await sessions.get(sessionId)?.getItems()) ?? []
      return items.map((item) => {
        if (item.type === 'function_call_result') {
          const output = item.output
          return `tool:${typeof output === 'string' ? output : 'text' in output ? String(output.text) : ''}`
        }
        if (item.type === 'function_call') return 'ai:'
        return `${'role' in item && item.role === 'user' ? 'human' : 'ai'}:${textOf(item)}`
      })
    },
  }
}
