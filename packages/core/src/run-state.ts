import type { ModelPrice } from './cost.ts'
import type { SerializedError } from './errors.ts'
import type { JsonValue } from './json.ts'
import type { Usage } from './language-model.ts'
import type { AssistantMessage, Message, ToolResultPart } from './messages.ts'
import type { FinishReason, StreamPart } from './stream-parts.ts'
import type { ChildReport, SideEffects } from './tool.ts'

/** Version of the `RunState` shape; bump it and add an upgrade in `upgradeState` when it changes. */
export const runStateVersion = 1

/** Run lifecycle. `waiting`: paused on an approval or a human answer. */
export type RunPhase = 'idle' | 'thinking' | 'acting' | 'waiting' | 'completed' | 'failed' | 'cancelled'

/** Context policy in force (Factor 3). `custom` names a function registered with the agent. */
export type ContextPolicy =
  | { readonly type: 'full' }
  | { readonly type: 'window'; readonly maxMessages: number }
  | { readonly type: 'stateless' }
  | { readonly type: 'custom'; readonly name: string }

/** Limits a run works within. */
export interface RunPolicy {
  /**
   * Model calls that may request tools; one more tool-less call then summarizes. Counts this run's
   * calls and its descendants' (charged up the tree through `child.reported`): descendants that
   * together go past it are stopped, and the run ends the same way.
   */
  readonly maxSteps: number
  /**
   * Total input + output tokens of this run and its descendants. The run's own model call going past
   * it fails the run with `budget-exceeded`; descendants going past it are stopped and the run makes
   * its one tool-less summarizing call, as with `maxSteps`.
   */
  readonly maxTokens?: number
  /**
   * Whether the run's own model calls count toward `maxSteps`. Default true; pipelines set false
   * (their planner is code), so their `maxSteps` bounds the model calls of their children.
   */
  readonly countOwnSteps?: boolean
  /**
   * Dollars the run's model calls may cost (at `price`), with what its descendants' calls cost
   * (charged up the tree). A response that reaches it ends the run gracefully, as the step limit
   * does: its tool calls are answered "not run" and its text is the answer; descendants that reach
   * it are stopped and the run makes its one tool-less summarizing call. Needs `price`.
   */
  readonly maxCostUsd?: number
  /** What the agent's model charges, journaled at the start so the run's cost replays the same. */
  readonly price?: ModelPrice
  /** Cap on an error text put into context. */
  readonly maxErrorChars: number
  /** Epoch ms by which the run must end: its time budget, or the part of a parent's it was given. */
  readonly deadline?: number
  /** Auto-deny an approval after this long (journaled as `approval.decided`, survives restarts). */
  readonly approvalTimeoutMs?: number
  readonly context: ContextPolicy
}

export const defaultRunPolicy: RunPolicy = { maxSteps: 20, maxErrorChars: 1000, context: { type: 'full' } }

/** What the edge decided about one tool call before the reducer sees it. */
export type ToolPlan =
  /** Run the handler. `final`: its output ends the run as the answer (a handoff). */
  | {
      readonly toolCallId: string
      readonly action: 'execute'
      readonly sideEffects: SideEffects
      readonly final?: boolean
    }
  /** Ask a human to approve, then run. */
  | { readonly toolCallId: string; readonly action: 'approve'; readonly sideEffects: SideEffects }
  /** The built-in `contactHuman` tool: its result is the human's answer. */
  | { readonly toolCallId: string; readonly action: 'ask-human'; readonly question: string }
  /** Unknown tool or invalid input: this compact error is the result. */
  | { readonly toolCallId: string; readonly action: 'reject'; readonly error: string }
  /** The agent's tool guard refused the call (a policy, no person): the model reads `reason`. */
  | { readonly toolCallId: string; readonly action: 'deny'; readonly reason: string }

/** A tool call of the current step and where it stands. */
export interface ToolCallState {
  readonly toolCallId: string
  readonly toolName: string
  readonly input: JsonValue
  readonly sideEffects: SideEffects
  /** `queued`: to run; `running`: `tool.started` journaled; `approval`/`question`: waiting for a human. */
  readonly status: 'queued' | 'running' | 'approval' | 'question' | 'done'
  readonly result?: ToolResultPart
  /** A handoff: a successful result ends the run with the output as the answer. */
  readonly final?: boolean
}

/**
 * A summary that stands for the transcript's messages before `upTo` in every model call (Factor 3):
 * written at the edge (the agent's `summarize` step), journaled as `context.summarized`, so replay
 * gives the same context without summarizing again. The messages themselves stay in the transcript.
 */
export interface ContextSummary {
  /** Messages before this index are summarized (system messages among them are still sent). */
  readonly upTo: number
  readonly text: string
}

/** A request to a human that the run is waiting on. `requestId` is the tool call id. */
export interface HumanRequest {
  readonly requestId: string
  readonly kind: 'approval' | 'question'
  readonly toolName: string
  readonly input: JsonValue
  /** For questions: what to ask. */
  readonly question?: string
  readonly requestedAt: number
  /** Epoch ms after which an approval is auto-denied, if the agent sets a timeout. */
  readonly expiresAt?: number
}

/**
 * W3C trace context (`traceparent`, `tracestate` headers) of the span a run started under, so a
 * process that resumes the run later (after a crash, or an answer days later) links to its trace.
 */
export interface TraceCarrier {
  readonly traceparent: string
  readonly tracestate?: string
}

/**
 * The whole state of a run: plain JSON, so it round-trips through any store, and everything the
 * next model call needs is computable from it alone (Factor 2 and 12).
 */
export interface RunState {
  readonly version: number
  readonly runId: string
  readonly agentId: string
  readonly sessionId: string | null
  readonly parentRunId: string | null
  readonly phase: RunPhase
  /** Model calls that have responded. */
  readonly step: number
  /** System prompt, prior session history, then this run's messages. */
  readonly messages: ReadonlyArray<Message>
  /** How many of `messages` came from before this run (system prompt and session history). */
  readonly priorCount: number
  /** Tool calls of the current step, in call order. */
  readonly toolCalls: ReadonlyArray<ToolCallState>
  readonly pending: ReadonlyArray<HumanRequest>
  readonly usage: Usage
  readonly policy: RunPolicy
  /** True once `maxSteps` is reached: the next model call gets no tools. */
  readonly finalizing: boolean
  readonly answer: JsonValue | null
  readonly error: SerializedError | null
  readonly finishReason: FinishReason | null
  /** Error tool results so far (context compaction only scans when there are repeats to fold). */
  readonly toolErrors: number
  /** Epoch ms of `run.started` (wall-time budgets count from here). */
  readonly startedAt: number
  /** The run at the top of this run's tree (absent for a run with no parent, and in older states). */
  readonly rootRunId?: string
  /**
   * Direct child runs whose progress is journaled in this run (`child.reported`): child run id to
   * the child's last journal seq reported, where a supervisor re-run after a crash continues.
   */
  readonly children?: Readonly<Record<string, number>>
  /** What descendants charged to this run's budgets: their model calls, token usage and cost. */
  readonly charged?: ChildCharge
  /** The run's own span, from `run.started` (absent when no tracing SDK was registered). */
  readonly trace?: TraceCarrier
  /** The latest summary of older messages, if the agent summarizes (absent in older snapshots). */
  readonly summary?: ContextSummary
}

/** Model calls, token usage and cost that descendants charged to a run. */
export interface ChildCharge {
  readonly steps: number
  readonly usage: Usage
  /** Dollars, each call at its own model's price (absent in states from before cost was charged). */
  readonly costUsd?: number
}

/** Events: everything that happens to a run, journaled before it is applied. */
export type RunEvent =
  | {
      readonly type: 'run.started'
      readonly runId: string
      readonly agentId: string
      readonly sessionId?: string | null
      readonly parentRunId?: string | null
      /** The run at the top of the tree, for a child run. */
      readonly rootRunId?: string
      readonly instructions?: string
      /** Prior session history. */
      readonly history?: ReadonlyArray<Message>
      readonly input: ReadonlyArray<Message>
      readonly policy?: Partial<RunPolicy>
      readonly at: number
      /** The run's span (OpenTelemetry), for spans of later processes to link to. */
      readonly trace?: TraceCarrier
    }
  | {
      readonly type: 'model.responded'
      readonly message: AssistantMessage
      readonly usage: Usage
      readonly finishReason: FinishReason
      /** One entry per tool call in `message`, decided at the edge (validation, approval, built-ins). */
      readonly plan: ReadonlyArray<ToolPlan>
      /** Text was already streamed live; don't emit it again (absent when replaying for a reader). */
      readonly streamed?: boolean
      /** A parsed structured answer when the agent has an output schema. */
      readonly output?: JsonValue
      /** Epoch ms the response arrived (stamps human requests). */
      readonly at?: number
      /** Lease epoch of the owner that streamed it: part of its block ids, so a re-run after a takeover never reuses one. */
      readonly epoch?: number
    }
  | {
      readonly type: 'model.failed'
      readonly error: SerializedError
      /** What the model had streamed before it failed (text and reasoning), so replays show it too. */
      readonly partial?: AssistantMessage
      /** The partial content was already streamed live. */
      readonly streamed?: boolean
      readonly epoch?: number
    }
  | { readonly type: 'tool.started'; readonly toolCallId: string; readonly at?: number }
  | { readonly type: 'tool.succeeded'; readonly toolCallId: string; readonly output: JsonValue }
  | {
      readonly type: 'tool.failed'
      readonly toolCallId: string
      readonly error: string
      readonly reason?: string
    }
  /** On resume: `tool.started` is journaled but no result; resolved by the tool's `sideEffects`. */
  | { readonly type: 'tool.interrupted'; readonly toolCallId: string }
  | {
      readonly type: 'approval.decided'
      readonly toolCallId: string
      readonly approved: boolean
      readonly reason?: string
      /** Who decided (principal id), recorded for audit. */
      readonly by?: string
    }
  | {
      readonly type: 'human.responded'
      readonly requestId: string
      readonly answer: JsonValue
      readonly by?: string
    }
  | { readonly type: 'run.cancelled'; readonly reason?: string }
  /**
   * A child run's progress, journaled in its parent (supervision): the child's parts for the
   * parent's stream and what it charged to the parent's budgets, for child journal entries up to
   * `seq`. Legal while the supervising tool call runs; a report at or before the last seq
   * reported for that child is rejected (a re-run supervisor never reports twice).
   */
  | ({
      readonly type: 'child.reported'
      /** The tool call whose handler supervises the child (an agent used as a tool). */
      readonly toolCallId: string
    } & ChildReport)
  /**
   * The edge summarized the messages before `upTo` ahead of a model call (legal while `thinking`).
   * `usage`, the summarizing call's tokens, counts toward the run's token budget.
   */
  | {
      readonly type: 'context.summarized'
      readonly upTo: number
      readonly summary: string
      readonly usage?: Usage
    }
  | {
      readonly type: 'budget.exhausted'
      readonly budget: 'time' | 'tokens' | 'steps'
      readonly detail?: string
    }

export type RunEventType = RunEvent['type']

/** Commands: what the edge must do next. The reducer runs nothing itself. */
export type Command =
  | {
      readonly type: 'call-model'
      /** The step number this call will be (1-based). */
      readonly step: number
      /** False on the final, summarizing call after `maxSteps`. */
      readonly tools: boolean
    }
  | {
      readonly type: 'call-tool'
      readonly toolCallId: string
      readonly toolName: string
      readonly input: JsonValue
      /** `runId:toolCallId`: the same on every re-run. */
      readonly idempotencyKey: string
    }
  | { readonly type: 'request-approval'; readonly request: HumanRequest }
  | { readonly type: 'contact-human'; readonly request: HumanRequest }
  /** Stop in-flight model and tool work (on cancel). */
  | { readonly type: 'abort-inflight'; readonly reason: string }
  | { readonly type: 'emit'; readonly parts: ReadonlyArray<StreamPart> }
  | {
      readonly type: 'finish'
      readonly phase: 'completed' | 'failed' | 'cancelled'
      readonly answer: JsonValue | null
      readonly error: SerializedError | null
    }
  /** An event was not legal in the current state; the state is unchanged. */
  | { readonly type: 'reject'; readonly eventType: string; readonly reason: string }

export type CommandType = Command['type']
