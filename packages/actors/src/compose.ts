import {
  defineTool,
  type JsonValue,
  type LanguageModel,
  type Message,
  type ModelPart,
  type ModelRequest,
  RunError,
  type StreamPart,
  type Tool,
  ToolError,
  type ToolResultPart,
} from '@vel/core'
import { Agent } from './agent.ts'
import type { Runtime } from './runtime-types.ts'

/** The runtime a tool handler runs in: the owner of the run passes it in the tool context. */
const runtimeOf = (context: { readonly runtime?: unknown }, agent: Agent): Runtime => {
  if (context.runtime === undefined)
    throw new ToolError('execution', agent.id, `agent '${agent.id}' used as a tool outside a Vel runtime`)
  return context.runtime as Runtime
}

/**
 * What a parent does when a child run fails (Erlang/Akka supervision): `restart` runs the child
 * again (new run, backoff, at most `maxRestarts` within `withinMs`), `resume` carries on without
 * its output, `stop` ends the pipeline with what it has, `escalate` fails the parent (default).
 */
export type Supervision =
  | {
      readonly strategy: 'restart'
      readonly maxRestarts?: number
      readonly withinMs?: number
      readonly initialDelayMs?: number
      readonly maxDelayMs?: number
    }
  | { readonly strategy: 'resume' | 'stop' | 'escalate' }

type SupervisionInput = Supervision | Supervision['strategy']

const normalize = (supervision: SupervisionInput | undefined): Supervision =>
  typeof supervision === 'string'
    ? ({ strategy: supervision } as Supervision)
    : (supervision ?? { strategy: 'escalate' })

/** Options of `asTool`. */
export interface AsToolOptions {
  /** Tool name the parent's model sees. Default: the agent id. */
  readonly name?: string
  readonly description?: string
  readonly supervision?: SupervisionInput
  /** A handoff: the child's answer becomes the parent's answer and the parent run ends. */
  readonly final?: boolean
  /** Hand the parent's conversation to the child (with `input` appended), instead of `input` alone. */
  readonly withConversation?: boolean
  /** Shared limit on children of this tool running at once. */
  readonly limiter?: Limiter
}

/** A counting semaphore for fan-out concurrency limits. */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor(readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active += 1
    try {
      return await work()
    } finally {
      this.active -= 1
      this.waiting.shift()?.()
    }
  }
}

const contentTypes = new Set<StreamPart['type']>([
  'text-start',
  'text-delta',
  'text-end',
  'reasoning-start',
  'reasoning-delta',
  'reasoning-end',
  'tool-input-start',
  'tool-input-delta',
  'tool-input-available',
  'tool-input-error',
  'tool-approval-request',
  'tool-output-available',
  'tool-output-error',
  'tool-output-denied',
])

/** A child's part as it appears in its parent's stream: content only, block ids made unique. */
const forwardable = (part: StreamPart, runId: string): StreamPart | undefined => {
  if (part.type.startsWith('data-')) return part
  if (!contentTypes.has(part.type)) return undefined
  return 'id' in part && typeof part.id === 'string'
    ? ({ ...part, id: `${runId}:${part.id}` } as StreamPart)
    : part
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })

const asText = (value: JsonValue): string => (typeof value === 'string' ? value : JSON.stringify(value))

/**
 * Makes an agent callable as a tool by another agent. Each call is a child run with its own id
 * and journal, linked by `parentRunId`, and idempotent: after a crash the same child run is found
 * by its idempotency key and continued (or its answer returned), never started again.
 */
export function asTool(agent: Agent, options: AsToolOptions = {}): Tool<{ input: string }, JsonValue> {
  const supervision = normalize(options.supervision)
  return defineTool({
    name: options.name ?? agent.id,
    description:
      options.description ?? `Ask the '${agent.id}' agent. ${agent.options.instructions ?? ''}`.trim(),
    input: {
      type: 'object',
      properties: { input: { type: 'string', description: 'What to ask or hand over.' } },
      required: ['input'],
    },
    sideEffects: 'idempotent',
    final: options.final ?? false,
    handler: async ({ input }, context) => {
      const runtime = runtimeOf(context, agent)
      let messages: RunInput = input
      if (options.withConversation) {
        const parent = await runtime.get(context.runId)
        // Everything but the system prompt and the assistant turn that asked for the handoff.
        const history = parent.state.messages.filter((message) => message.role !== 'system').slice(0, -1)
        messages = [...history, { role: 'user', content: input }]
      }
      const restarts: number[] = []
      for (let attempt = 0; ; attempt++) {
        const work = async () => {
          const key = attempt === 0 ? context.idempotencyKey : `${context.idempotencyKey}#${attempt}`
          const handle = await runtime.spawn(agent.id, messages, {
            idempotencyKey: key,
            parentRunId: context.runId,
            ...(context.deadline === undefined ? {} : { deadline: context.deadline }),
          })
          // After a crash the child is found by its key; continue it here if nobody holds it.
          const { record } = await runtime.get(handle.runId)
          if (record.status === 'running' && !runtime.isActive(handle.runId))
            await runtime.resume(handle.runId).catch(() => undefined)
          const onAbort = () => void runtime.cancel(handle.runId, 'parent stopped').catch(() => undefined)
          context.signal.addEventListener('abort', onAbort)
          context.emit?.([
            { type: 'data-vel-agent', data: { agentId: agent.id, runId: handle.runId, status: 'started' } },
          ])
          const forwarding = (async () => {
            for await (const part of handle.parts()) {
              const forwarded = forwardable(part, handle.runId)
              if (forwarded) context.emit?.([forwarded])
            }
          })()
          try {
            return await handle.result
          } finally {
            context.signal.removeEventListener('abort', onAbort)
            await forwarding.catch(() => undefined)
            context.emit?.([
              { type: 'data-vel-agent', data: { agentId: agent.id, runId: handle.runId, status: 'ended' } },
            ])
          }
        }
        try {
          return await (options.limiter ? options.limiter.run(work) : work())
        } catch (error) {
          if (context.signal.aborted || supervision.strategy !== 'restart') throw childFailure(agent, error)
          const now = Date.now()
          const window = supervision.withinMs ?? 60_000
          while (restarts.length > 0 && (restarts[0] as number) < now - window) restarts.shift()
          if (restarts.length >= (supervision.maxRestarts ?? 3)) throw childFailure(agent, error)
          restarts.push(now)
          const delay = Math.min(
            (supervision.initialDelayMs ?? 100) * 2 ** restarts.length,
            supervision.maxDelayMs ?? 5000,
          )
          await sleep(delay, context.signal)
        }
      }
    },
  })
}

type RunInput = string | Message[]

const childFailure = (agent: Agent, error: unknown) =>
  new ToolError(
    'execution',
    agent.id,
    `agent '${agent.id}' failed: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
    },
  )

/** A handoff: control passes to `agent` with the conversation; its answer is the caller's answer. */
export function handoff(agent: Agent, options: Omit<AsToolOptions, 'final' | 'withConversation'> = {}): Tool {
  return asTool(agent, {
    name: options.name ?? `handoff_to_${agent.id}`,
    description:
      options.description ?? `Hand the conversation over to the '${agent.id}' agent, which answers the user.`,
    ...options,
    final: true,
    withConversation: true,
  })
}

type Decision =
  | {
      readonly call: ReadonlyArray<{ readonly id: string; readonly name: string; readonly input: JsonValue }>
    }
  | { readonly answer: JsonValue }
  | { readonly fail: string }

/** A model that is code: deterministic decisions from the conversation, so pipelines replay exactly. */
function plannerModel(id: string, decide: (messages: ReadonlyArray<Message>) => Decision): LanguageModel {
  return {
    provider: 'vel-pipeline',
    modelId: id,
    async *stream(request: ModelRequest): AsyncGenerator<ModelPart> {
      const decision = decide(request.messages)
      if ('fail' in decision) throw new RunError('child-failed', decision.fail)
      const usage = { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedInputTokens: 0 }
      if ('answer' in decision) {
        const text = asText(decision.answer)
        yield { type: 'text-start', id: 'answer' }
        yield { type: 'text-delta', id: 'answer', delta: text }
        yield { type: 'text-end', id: 'answer' }
        yield { type: 'finish', finishReason: 'stop', usage }
        return
      }
      for (const call of decision.call)
        yield {
          type: 'tool-call',
          toolCallId: call.id,
          toolName: call.name,
          input: JSON.stringify(call.input),
        }
      yield { type: 'finish', finishReason: 'tool-calls', usage }
    },
  }
}

const userText = (messages: ReadonlyArray<Message>): string => {
  const user = messages.find((message) => message.role === 'user')
  if (user === undefined || user.role !== 'user') return ''
  return typeof user.content === 'string'
    ? user.content
    : user.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

const resultsOf = (messages: ReadonlyArray<Message>): ToolResultPart[] =>
  messages.flatMap((message) => (message.role === 'tool' ? [...message.content] : []))

/** Options shared by the composition primitives. */
export interface CompositeOptions {
  /** The composite agent's id. */
  readonly id: string
  /** What to do when a child fails. Default `escalate`. */
  readonly supervision?: SupervisionInput
  /** Wall time for the whole tree: children get what remains of it. */
  readonly maxDurationMs?: number
}

const composite = (
  options: CompositeOptions,
  children: ReadonlyArray<Agent>,
  tools: ReadonlyArray<Tool>,
  decide: (messages: ReadonlyArray<Message>) => Decision,
) =>
  new Agent({
    id: options.id,
    model: plannerModel(options.id, decide),
    tools,
    children,
    policies: {
      retry: false,
      maxSteps: 1000,
      toolTimeoutMs: 365 * 24 * 3600 * 1000,
      ...(options.maxDurationMs === undefined ? {} : { budget: { maxDurationMs: options.maxDurationMs } }),
    },
  })

/** Runs agents one after another; each gets the previous one's answer, the last one's is the answer. */
export function sequence(agents: ReadonlyArray<Agent>, options: CompositeOptions): Agent {
  const supervision = normalize(options.supervision)
  const tools = agents.map((agent, index) => asTool(agent, { name: `stage_${index}`, supervision }))
  return composite(options, agents, tools, (messages) => {
    const results = resultsOf(messages)
    let carried: JsonValue = userText(messages)
    for (const result of results) {
      if ('output' in result) carried = result.output
      else if (supervision.strategy === 'stop') return { answer: carried }
      else if (supervision.strategy !== 'resume') return { fail: result.error }
    }
    if (results.length >= agents.length) return { answer: carried }
    const index = results.length
    return { call: [{ id: `stage_${index}`, name: `stage_${index}`, input: { input: asText(carried) } }] }
  })
}

/** Runs agents on the same input at once (at most `concurrency` together) and merges their answers. */
export function parallel(
  agents: ReadonlyArray<Agent>,
  options: CompositeOptions & {
    readonly concurrency?: number
    /** Default: `{ [agentId]: answer }`; a failed child under `resume`/`stop` gives `{ error }`. */
    readonly merge?: (
      results: ReadonlyArray<{ agentId: string; output?: JsonValue; error?: string }>,
    ) => JsonValue
  },
): Agent {
  const supervision = normalize(options.supervision)
  const limiter = new Limiter(options.concurrency ?? agents.length)
  const tools = agents.map((agent, index) => asTool(agent, { name: `branch_${index}`, supervision, limiter }))
  const merge =
    options.merge ??
    ((results) =>
      Object.fromEntries(
        results.map((result) => [result.agentId, result.output ?? { error: result.error ?? 'failed' }]),
      ))
  return composite(options, agents, tools, (messages) => {
    const results = resultsOf(messages)
    if (results.length === 0)
      return {
        call: agents.map((_agent, index) => ({
          id: `branch_${index}`,
          name: `branch_${index}`,
          input: { input: userText(messages) },
        })),
      }
    const failed = results.find((result) => 'error' in result)
    if (failed && 'error' in failed && supervision.strategy !== 'resume' && supervision.strategy !== 'stop')
      return { fail: failed.error }
    return {
      answer: merge(
        results.map((result, index) => ({
          agentId: agents[index]?.id ?? String(index),
          ...('output' in result ? { output: result.output } : { error: result.error }),
        })),
      ),
    }
  })
}

/** Picks one agent by label: `classifier` is an agent answering with a label, or a function. */
export function route(
  classifier: Agent | ((input: string) => string | Promise<string>),
  routes: Readonly<Record<string, Agent>>,
  options: CompositeOptions,
): Agent {
  const supervision = normalize(options.supervision)
  const labels = Object.keys(routes)
  const toolName = (label: string) => `to_${label.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64)
  const classify =
    classifier instanceof Agent
      ? asTool(classifier, { name: 'classify', supervision })
      : defineTool({
          name: 'classify',
          description: `Picks one of: ${labels.join(', ')}.`,
          input: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] },
          handler: ({ input }: { input: string }) => classifier(input),
          sideEffects: 'none',
        })
  const tools = [
    classify,
    ...labels.map((label) => asTool(routes[label] as Agent, { name: toolName(label), supervision })),
  ]
  const children = [...(classifier instanceof Agent ? [classifier] : []), ...Object.values(routes)]
  return composite(options, children, tools, (messages) => {
    const results = resultsOf(messages)
    const [label, routed] = results
    if (label === undefined)
      return { call: [{ id: 'classify', name: 'classify', input: { input: userText(messages) } }] }
    if ('error' in label) return { fail: label.error }
    const chosen = asText(label.output).trim()
    if (!labels.includes(chosen))
      return { fail: `classifier answered '${chosen}', not one of: ${labels.join(', ')}` }
    if (routed === undefined)
      return { call: [{ id: 'route', name: toolName(chosen), input: { input: userText(messages) } }] }
    return 'output' in routed ? { answer: routed.output } : { fail: routed.error }
  })
}
