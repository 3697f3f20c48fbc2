import type { AssistantMessage, JsonValue, RunEvent, RunPolicy, ToolPlan, Usage } from '../src/index.ts'

export const usage = (input = 10, output = 5): Usage => ({
  inputTokens: input,
  outputTokens: output,
  reasoningTokens: 0,
  cachedInputTokens: 0,
})

export const started = (
  policy: Partial<RunPolicy> = {},
  extra: Partial<Extract<RunEvent, { type: 'run.started' }>> = {},
): RunEvent => ({
  type: 'run.started',
  runId: 'run-1',
  agentId: 'agent',
  sessionId: 's-1',
  input: [{ role: 'user', content: 'hi' }],
  policy,
  at: 1000,
  ...extra,
})

export const said = (text: string): RunEvent => ({
  type: 'model.responded',
  message: { role: 'assistant', content: [{ type: 'text', text }] },
  usage: usage(),
  finishReason: 'stop',
  plan: [],
})

type PlanWithoutId = ToolPlan extends infer P ? (P extends ToolPlan ? Omit<P, 'toolCallId'> : never) : never

export interface CallSpec {
  id: string
  name?: string
  input?: JsonValue
  plan?: PlanWithoutId | ToolPlan['action']
}

export const calls = (specs: CallSpec[], text = ''): RunEvent => {
  const message: AssistantMessage = {
    role: 'assistant',
    content: [
      ...(text ? [{ type: 'text' as const, text }] : []),
      ...specs.map((spec) => ({
        type: 'tool-call' as const,
        id: spec.id,
        name: spec.name ?? 'add',
        input: spec.input ?? { a: 1, b: 2 },
      })),
    ],
  }
  const plan = specs.map((spec): ToolPlan => {
    const p = spec.plan ?? 'execute'
    if (typeof p === 'string') {
      if (p === 'ask-human') return { toolCallId: spec.id, action: 'ask-human', question: 'Which one?' }
      if (p === 'reject') return { toolCallId: spec.id, action: 'reject', error: 'bad input' }
      if (p === 'deny') return { toolCallId: spec.id, action: 'deny', reason: 'outside business hours' }
      return { toolCallId: spec.id, action: p, sideEffects: 'unsafe' }
    }
    return { ...p, toolCallId: spec.id } as ToolPlan
  })
  return { type: 'model.responded', message, usage: usage(), finishReason: 'tool-calls', plan, at: 2000 }
}
