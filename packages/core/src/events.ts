import { type SerializedError, serializeError } from './errors.ts'
import type { JsonValue } from './json.ts'
import { emptyUsage, type Usage } from './language-model.ts'
import { type AssistantMessage, type Message, type RunInput, toMessages } from './messages.ts'
import type { RunEvent, RunPolicy, ToolPlan } from './run-state.ts'
import type { StreamPart } from './stream-parts.ts'
import type { SideEffects } from './tool.ts'

type EventOf<Type extends RunEvent['type']> = Extract<RunEvent, { type: Type }>

/** A tool plan without its call id (the call it belongs to gives it). */
export type ToolPlanOf = ToolPlan extends infer P
  ? P extends ToolPlan
    ? Omit<P, 'toolCallId'>
    : never
  : never

/** One tool call of `events.toolCalls`: what the model asked for and how the edge planned it. */
export interface ToolCallSketch {
  readonly id: string
  readonly name: string
  /** The parsed arguments. Default `{}`. */
  readonly input?: JsonValue
  /** Default `'execute'`; `'approve'` asks a human first; or a full plan (`reject`, `deny`, `ask-human`). */
  readonly plan?: 'execute' | 'approve' | ToolPlanOf
  /** For `execute` and `approve`. Default `'unsafe'`, as `defineTool`'s. */
  readonly sideEffects?: SideEffects
  /** A handoff: a successful result ends the run (for `execute`). */
  readonly final?: boolean
}

/** What the model-response builders accept besides the content. */
export interface ResponseOptions {
  /** Default: no tokens. */
  readonly usage?: Partial<Usage>
  /** Epoch ms the response arrived. Default 0. */
  readonly at?: number
}

const usageOf = (usage: Partial<Usage> | undefined): Usage => ({ ...emptyUsage(), ...usage })

const planOf = (call: ToolCallSketch): ToolPlan => {
  const plan = call.plan ?? 'execute'
  if (typeof plan === 'object') return { ...plan, toolCallId: call.id } as ToolPlan
  return {
    toolCallId: call.id,
    action: plan,
    sideEffects: call.sideEffects ?? 'unsafe',
    ...(plan === 'execute' && call.final ? { final: true } : {}),
  }
}

/**
 * Builders for `RunEvent`s, so a run can be driven through `step` by hand in one line per event
 * (tests, docs, a custom loop). Deterministic: no clock, no randomness; `at` is 0 unless given.
 */
export const events = {
  /** `run.started` from any `RunInput`. Ids default to `run-1` and `agent`. */
  started: (
    input: RunInput,
    options: {
      readonly runId?: string
      readonly agentId?: string
      readonly sessionId?: string | null
      readonly parentRunId?: string | null
      readonly rootRunId?: string
      readonly instructions?: string
      readonly history?: ReadonlyArray<Message>
      readonly policy?: Partial<RunPolicy>
      readonly at?: number
    } = {},
  ): EventOf<'run.started'> => {
    const { runId = 'run-1', agentId = 'agent', at = 0, ...rest } = options
    return { type: 'run.started', runId, agentId, ...rest, input: toMessages(input), at }
  },

  /** `model.responded` with a text answer (`finishReason: 'stop'`, no tool calls). */
  modelText: (
    text: string,
    options: ResponseOptions & { readonly output?: JsonValue } = {},
  ): EventOf<'model.responded'> => ({
    type: 'model.responded',
    message: { role: 'assistant', content: [{ type: 'text', text }] },
    usage: usageOf(options.usage),
    finishReason: 'stop',
    plan: [],
    ...(options.output === undefined ? {} : { output: options.output }),
    at: options.at ?? 0,
  }),

  /** `model.responded` asking for tool calls, each with its plan (`execute` unless said otherwise). */
  toolCalls: (
    calls: ReadonlyArray<ToolCallSketch>,
    options: ResponseOptions & { readonly text?: string } = {},
  ): EventOf<'model.responded'> => {
    const message: AssistantMessage = {
      role: 'assistant',
      content: [
        ...(options.text ? [{ type: 'text' as const, text: options.text }] : []),
        ...calls.map((call) => ({
          type: 'tool-call' as const,
          id: call.id,
          name: call.name,
          input: call.input ?? {},
        })),
      ],
    }
    return {
      type: 'model.responded',
      message,
      usage: usageOf(options.usage),
      finishReason: 'tool-calls',
      plan: calls.map(planOf),
      at: options.at ?? 0,
    }
  },

  /** `model.failed` from an error (a `VelError`, any thrown value, or its serialized form). */
  modelFailed: (error: unknown): EventOf<'model.failed'> => ({
    type: 'model.failed',
    error: isSerialized(error) ? error : serializeError(error),
  }),

  /** `tool.started`: the handler is about to run (journaled first, so a crash is detectable). */
  toolStarted: (toolCallId: string, at = 0): EventOf<'tool.started'> => ({
    type: 'tool.started',
    toolCallId,
    at,
  }),

  /** `tool.succeeded` with the handler's output. */
  toolResult: (toolCallId: string, output: JsonValue): EventOf<'tool.succeeded'> => ({
    type: 'tool.succeeded',
    toolCallId,
    output,
  }),

  /** `tool.failed` with the compact error text the model reads. */
  toolError: (toolCallId: string, error: string, reason?: string): EventOf<'tool.failed'> => ({
    type: 'tool.failed',
    toolCallId,
    error,
    ...(reason === undefined ? {} : { reason }),
  }),

  /** `tool.interrupted`: found started without a result on resume. */
  toolInterrupted: (toolCallId: string): EventOf<'tool.interrupted'> => ({
    type: 'tool.interrupted',
    toolCallId,
  }),

  /** `approval.decided` approving the call. */
  approved: (toolCallId: string, options: { readonly by?: string; readonly reason?: string } = {}) =>
    decided(toolCallId, true, options),

  /** `approval.decided` denying the call. */
  denied: (toolCallId: string, options: { readonly by?: string; readonly reason?: string } = {}) =>
    decided(toolCallId, false, options),

  /** `human.responded`: the answer to a `contactHuman` question. */
  humanAnswered: (requestId: string, answer: JsonValue, by?: string): EventOf<'human.responded'> => ({
    type: 'human.responded',
    requestId,
    answer,
    ...(by === undefined ? {} : { by }),
  }),

  /** `context.summarized`: the messages before `upTo` are summarized for every later model call. */
  contextSummarized: (
    upTo: number,
    summary: string,
    usage?: Partial<Usage>,
  ): EventOf<'context.summarized'> => ({
    type: 'context.summarized',
    upTo,
    summary,
    ...(usage === undefined ? {} : { usage: usageOf(usage) }),
  }),

  /** `run.cancelled`. */
  cancelled: (reason?: string): EventOf<'run.cancelled'> => ({
    type: 'run.cancelled',
    ...(reason === undefined ? {} : { reason }),
  }),

  /** `child.reported`: a child's progress journaled in its parent. Default: no parts, no charge. */
  childReported: (
    toolCallId: string,
    childRunId: string,
    seq: number,
    options: {
      readonly parts?: ReadonlyArray<StreamPart>
      readonly steps?: number
      readonly usage?: Partial<Usage>
      readonly costUsd?: number
    } = {},
  ): EventOf<'child.reported'> => ({
    type: 'child.reported',
    toolCallId,
    childRunId,
    seq,
    parts: options.parts ?? [],
    steps: options.steps ?? 0,
    usage: usageOf(options.usage),
    ...(options.costUsd === undefined ? {} : { costUsd: options.costUsd }),
  }),

  /** `budget.exhausted` for the time, token or step budget. */
  budgetExhausted: (
    budget: EventOf<'budget.exhausted'>['budget'],
    detail?: string,
  ): EventOf<'budget.exhausted'> => ({
    type: 'budget.exhausted',
    budget,
    ...(detail === undefined ? {} : { detail }),
  }),
} as const

const decided = (
  toolCallId: string,
  approved: boolean,
  options: { readonly by?: string; readonly reason?: string },
): EventOf<'approval.decided'> => ({ type: 'approval.decided', toolCallId, approved, ...options })

const isSerialized = (value: unknown): value is SerializedError =>
  typeof value === 'object' &&
  value !== null &&
  !(value instanceof Error) &&
  typeof (value as SerializedError).tag === 'string' &&
  typeof (value as SerializedError).reason === 'string' &&
  typeof (value as SerializedError).message === 'string'
