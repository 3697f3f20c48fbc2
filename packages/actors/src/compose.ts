import {
  costOf,
  defineTool,
  emptyRunState,
  emptyUsage,
  forReplay,
  type JsonValue,
  type LanguageModel,
  type Message,
  type ModelPart,
  type ModelRequest,
  RunError,
  type RunEvent,
  type RunState,
  type StreamPart,
  step,
  type Tool,
  type ToolContext,
  ToolError,
  type ToolResultPart,
} from '@vel/core'
import { Agent } from './agent.ts'
import { isHandOver } from './hand-over.ts'
import { answerOf } from './run-outcome.ts'
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

/** A child's part as it appears in its parent's stream: wrapped, a grandchild's (wrapped already) as is. */
const asChildPart = (part: StreamPart, runId: string, agentId: string): StreamPart =>
  part.type === 'data-vel-child'
    ? part
    : { type: 'data-vel-child', data: { runId, agentId, part: part as never } }

const isEnded = (state: RunState) =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

/**
 * Journals a child's progress in its parent, entry by entry, until the child ends: each child entry's
 * parts (wrapped) and what it charged (its model calls, and what its own children charged it). It
 * reads the child's journal, not its live stream, so the parent's copy is exactly what the child
 * journaled, in order, whichever process runs the child; a re-run after a crash continues after the
 * last child seq the parent journaled.
 */
async function superviseChild(
  runtime: Runtime,
  child: { readonly runId: string; readonly agentId: string },
  context: ToolContext,
): Promise<RunState | undefined> {
  const report = context.reportChild
  if (report === undefined) return undefined
  const since = context.reportedChildSeq?.(child.runId) ?? 0
  const marker = (status: 'started' | 'ended'): StreamPart => ({
    type: 'data-vel-agent',
    data: { agentId: child.agentId, runId: child.runId, status },
  })
  let state = emptyRunState
  for await (const entry of runtime.follow(child.runId, { signal: context.signal })) {
    const event = entry.data as unknown as RunEvent
    const [next, commands] = step(state, forReplay(event))
    state = next
    if (entry.seq <= since) continue
    const parts: StreamPart[] = event.type === 'run.started' ? [marker('started')] : []
    for (const command of commands)
      if (command.type === 'emit')
        for (const part of command.parts) parts.push(asChildPart(part, child.runId, child.agentId))
    if (isEnded(state)) parts.push(marker('ended'))
    // A pipeline's planner is code: its decisions are no model calls to charge.
    const price = state.policy.price
    const charge =
      event.type === 'model.responded'
        ? {
            steps: state.policy.countOwnSteps === false ? 0 : 1,
            usage: event.usage,
            costUsd: price === undefined ? 0 : costOf(event.usage, price),
          }
        : event.type === 'child.reported'
          ? { steps: event.steps, usage: event.usage, costUsd: event.costUsd ?? 0 }
          : undefined
    if (parts.length > 0 || charge !== undefined)
      await report({
        childRunId: child.runId,
        seq: entry.seq,
        parts,
        ...(charge ?? { steps: 0, usage: emptyUsage(), costUsd: 0 }),
      })
    if (isEnded(state)) return state
    if (context.signal.aborted) return undefined
  }
  return isEnded(state) ? state : undefined
}

/** The answer of a child that ended, from its journaled state, or the error it ended with. */
const answerOfState = (state: RunState): JsonValue =>
  answerOf(
    state.phase === 'completed'
      ? { phase: 'completed', answer: state.answer }
      : state.phase === 'cancelled'
        ? { phase: 'cancelled', reason: 'cancelled' }
        : {
            phase: 'failed',
            error: state.error ?? { tag: 'RunError', reason: 'failed', message: 'failed', retryable: false },
          },
    state.runId,
  )

/**
 * Forwards the child's live parts (the deltas of its model call in flight, its own children's
 * previews) to the parent's stream as they come, as transient `data-vel-child` parts: a live
 * preview that is not journaled and that the AI SDK does not keep in the message. The durable copy
 * follows in `child.reported` once the child journals the response.
 */
async function previewChild(
  runtime: Runtime,
  child: { readonly runId: string; readonly agentId: string },
  context: ToolContext,
  stop: AbortSignal,
): Promise<void> {
  const emit = context.emit
  if (emit === undefined) return
  const signal = AbortSignal.any([stop, context.signal])
  // Only live parts are forwarded: what the child journaled reaches the parent through its reports.
  for await (const { position, part } of runtime.stream(child.runId, { signal })) {
    if (signal.aborted) return
    if (position.live === undefined) continue
    emit([
      part.type === 'data-vel-child'
        ? part
        : { type: 'data-vel-child', transient: true, data: { ...child, part: part as never } },
    ])
  }
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
            rootRunId: context.rootRunId ?? context.runId,
            ...(context.deadline === undefined ? {} : { deadline: context.deadline }),
          })
          // After a crash the child is found by its key; continue it here if nobody holds it.
          const { record } = await runtime.get(handle.runId)
          if (record.status === 'running' && !runtime.isActive(handle.runId))
            await runtime.resume(handle.runId).catch(() => undefined)
          // The parent stopped (cancel, budget, timeout): so does the child. A parent that changes
          // hands (released, shut down) leaves its child running: the next owner takes it up again.
          let stop!: (reason: unknown) => void
          const stopped = new Promise<never>((_resolve, reject) => {
            stop = reject
          })
          stopped.catch(() => undefined)
          const onAbort = () => {
            stop(context.signal.reason)
            if (!isHandOver(context.signal.reason))
              void runtime.cancel(handle.runId, 'parent stopped').catch(() => undefined)
          }
          context.signal.addEventListener('abort', onAbort)
          // Stopped while the child was being started: the listener came too late to hear it.
          if (context.signal.aborted) onAbort()
          const child = { runId: handle.runId, agentId: agent.id }
          const supervising = superviseChild(runtime, child, context)
          const previewing = new AbortController()
          const preview = previewChild(runtime, child, context, previewing.signal)
          // The child's end as its journal says it: a child another worker runs settles no handle here.
          const journaled = supervising.then(
            (state) => (state === undefined ? new Promise<never>(() => undefined) : answerOfState(state)),
            () => new Promise<never>(() => undefined),
          )
          journaled.catch(() => undefined)
          try {
            return await Promise.race([handle.result, journaled, stopped])
          } finally {
            context.signal.removeEventListener('abort', onAbort)
            // The child's last parts are journaled here before its result is.
            await supervising.catch(() => undefined)
            previewing.abort()
            await preview.catch(() => undefined)
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
/**
 * Decides the next move from the conversation. `final`: the call is the run's last, tool-less one
 * (its step or token budget ran out): answer with what there is, or fail.
 */
type Decide = (messages: ReadonlyArray<Message>, final: boolean) => Decision

function plannerModel(id: string, decide: Decide): LanguageModel {
  return {
    provider: 'vel-pipeline',
    modelId: id,
    async *stream(request: ModelRequest): AsyncGenerator<ModelPart> {
      const decision = decide(request.messages, request.tools === undefined)
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
  /**
   * Model calls the children (and theirs) may make together. Going past it stops the children at
   * work and ends the pipeline with what it has, as `maxSteps` ends an agent. Default 1000.
   */
  readonly maxSteps?: number
  /** Input + output tokens the children (and theirs) may use together; going past it ends the pipeline the same way. */
  readonly maxTokens?: number
  /** Dollars the children's model calls (and theirs) may cost together, each at its model's price; reaching it ends the pipeline the same way. */
  readonly maxCostUsd?: number
}

const composite = (
  options: CompositeOptions,
  children: ReadonlyArray<Agent>,
  tools: ReadonlyArray<Tool>,
  decide: Decide,
) =>
  new Agent({
    id: options.id,
    model: plannerModel(options.id, decide),
    tools,
    children,
    policies: {
      retry: false,
      // The planner is code: the step budget counts the children's model calls only.
      maxSteps: options.maxSteps ?? 1000,
      countOwnSteps: false,
      toolTimeoutMs: 365 * 24 * 3600 * 1000,
      budget: {
        ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
        ...(options.maxDurationMs === undefined ? {} : { maxDurationMs: options.maxDurationMs }),
        ...(options.maxCostUsd === undefined ? {} : { maxCostUsd: options.maxCostUsd }),
      },
    },
    // The planner calls no model: its decisions cost nothing (children are charged at their prices).
    price: { inputPerMTok: 0, outputPerMTok: 0 },
  })

/** Runs agents one after another; each gets the previous one's answer, the last one's is the answer. */
export function sequence(agents: ReadonlyArray<Agent>, options: CompositeOptions): Agent {
  const supervision = normalize(options.supervision)
  const tools = agents.map((agent, index) => asTool(agent, { name: `stage_${index}`, supervision }))
  return composite(options, agents, tools, (messages, final) => {
    const results = resultsOf(messages)
    let carried: JsonValue = userText(messages)
    for (const result of results) {
      if ('output' in result) carried = result.output
      else if (supervision.strategy === 'stop' || final) return { answer: carried }
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
  return composite(options, agents, tools, (messages, final) => {
    const results = resultsOf(messages)
    if (results.length === 0 && !final)
      return {
        call: agents.map((_agent, index) => ({
          id: `branch_${index}`,
          name: `branch_${index}`,
          input: { input: userText(messages) },
        })),
      }
    const failed = results.find((result) => 'error' in result)
    // Out of budget: whatever the branches have, errors included (the stopped ones say so).
    if (
      failed &&
      'error' in failed &&
      !final &&
      supervision.strategy !== 'resume' &&
      supervision.strategy !== 'stop'
    )
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
  return composite(options, children, tools, (messages, final) => {
    const results = resultsOf(messages)
    const [label, routed] = results
    if (final && (routed === undefined || 'error' in routed))
      return {
        fail: `the budget ran out before a route answered${routed && 'error' in routed ? `: ${routed.error}` : ''}`,
      }
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
