import type {
  JournalEntry,
  JsonObject,
  JsonValue,
  Message,
  Page,
  PartPosition,
  PositionedPart,
  PriceTable,
  RunFilter,
  RunInput,
  RunRecord,
  RunState,
  Store,
  StreamPart,
  TraceCarrier,
} from '@vel/core'
import type { Agent } from './agent.ts'
import type { Bus } from './bus.ts'
import type { TelemetryOptions } from './telemetry.ts'

/** Options of `spawn`, `agent.run`, `agent.stream` and `agent.start`. */
export interface SpawnOptions {
  /** Conversation this run continues; its history is loaded at start and the run appended at the end. */
  readonly sessionId?: string
  /** Use this id instead of a random one. */
  readonly runId?: string
  /** A second spawn with the same key (per agent) returns the first run instead of starting another. */
  readonly idempotencyKey?: string
  /** The run this one is a child of (agents used as tools pass their run). */
  readonly parentRunId?: string
  /** The run at the top of the tree, journaled in the child's `run.started`. Default: `parentRunId`. */
  readonly rootRunId?: string
  /** Stored on the run's index row (e.g. the principal that started it). */
  readonly metadata?: JsonObject
  /** Epoch ms by which the run must end (a parent passes its own so the tree shares one budget). */
  readonly deadline?: number
  /** Accepted for compatibility; `handle.parts()` always streams the run from its start. */
  readonly stream?: boolean
  /**
   * The caller steers the run by reading it (`agent.stream`): no tool starts before the caller has
   * read its `tool-input-available` part and asked for the next one, and when the caller stops
   * reading before the end the run is cancelled (unless `detach`).
   */
  readonly steer?: boolean
  /** With `steer`: a caller that stops reading leaves the run running instead of cancelling it. */
  readonly detach?: boolean
  /**
   * The W3C trace context of the trigger (an HTTP request's or NATS message's `traceparent` and
   * `tracestate`): the run's span is its child. Default: the active OpenTelemetry context.
   */
  readonly trace?: TraceCarrier
}

/** A running (or finished, or waiting) run, as seen by the code that started or resumed it. */
export interface RunHandle {
  readonly runId: string
  /** The answer; rejects with a `RunError` if the run fails or is cancelled. */
  readonly result: Promise<JsonValue>
  /**
   * UI message stream parts (from the run's start for a spawned run, from now on otherwise), live,
   * ending with `finish` (or, with `untilPause`, when the run waits for a human).
   */
  parts(options?: { readonly untilPause?: boolean; readonly signal?: AbortSignal }): AsyncIterable<StreamPart>
  /** For a steered run (`steer`): the parts, with the steering described there. */
  steered?(): AsyncIterable<StreamPart>
  cancel(reason?: string): Promise<void>
  approve(toolCallId: string, options?: DecisionOptions): Promise<void>
  deny(toolCallId: string, options?: DecisionOptions): Promise<void>
  /** Answers a `contactHuman` question. */
  respond(requestId: string, answer: JsonValue, options?: { readonly by?: string }): Promise<void>
}

/** Who decided and why; recorded in the journal. */
export interface DecisionOptions {
  readonly reason?: string
  readonly by?: string
}

/** A run as stored: its index row, its state and the messages its next model call would get. */
export interface RunInfo {
  readonly record: RunRecord
  readonly state: RunState
  /** The journal seq `state` includes: stream from `{ seq, index: MAX }` to see only what comes next. */
  readonly seq: number
  /** Factor 2: exactly what the next model call receives (empty once the run has ended). */
  readonly nextMessages: ReadonlyArray<Message>
}

/** Options of `Runtime.stream`. */
export interface StreamOptions {
  /** Start after this position (a reconnect's `Last-Event-ID`); default: from the run's start. */
  readonly after?: PartPosition
  /** End when the run pauses for a human (waits with nothing else to do) instead of waiting for it. */
  readonly untilPause?: boolean
  readonly signal?: AbortSignal
  /** `false`: only what is journaled now (a replay), without waiting for more. Default true. */
  readonly follow?: boolean
  /** For a run owned by another process and a bus that cannot carry parts: how often to read the journal. Default 250 ms. */
  readonly pollMs?: number
}

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  readonly store: Store
  readonly bus?: Bus
  readonly agents: ReadonlyArray<Agent>
  /** Identifies this worker in leases. Default: random. */
  readonly ownerId?: string
  /** Lease time-to-live; renewed every third of it. Default 30 s. */
  readonly leaseTtlMs?: number
  /** Clock (epoch ms), for tests. */
  readonly now?: () => number
  /** Errors with no caller to go to. Default: `console.error`. */
  readonly onError?: (error: unknown, runId: string) => void
  /**
   * Model prices for runs' cost and `maxCostUsd` budgets (an agent's own `price` wins). Default:
   * `defaultPrices` from `@vel/core`, dated list prices of current OpenAI, Anthropic and Gemini models.
   */
  readonly prices?: PriceTable
  /** Traces and metrics through `@opentelemetry/api` (no-ops unless the application registers an SDK). */
  readonly telemetry?: TelemetryOptions
}

/** Runs agents as actors over a store and a bus. Adapters (HTTP, NATS, CLI) use only this API. */
export interface Runtime {
  /** The store runs live in (for applications; adapters use the methods below). */
  readonly store: Store
  readonly bus: Bus
  readonly ownerId: string
  /** Adds an agent definition (and binds `agent.run` to this runtime). */
  register(agent: Agent): void
  /** Whether an agent with this id is registered. */
  hasAgent(agentId: string): boolean
  /** Starts a run of an agent. Resolves once `run.started` is journaled. */
  spawn(agentId: string, input: RunInput, options?: SpawnOptions): Promise<RunHandle>
  /** Takes over a run from the store (after a crash or on another worker) and continues it. */
  resume(runId: string): Promise<RunHandle>
  /** Resumes every unfinished run whose lease expired (or was released), and re-arms approval timeouts. */
  recover(): Promise<string[]>
  /** Index row, state and next model messages of any run, in memory or not. */
  get(runId: string): Promise<RunInfo>
  /** A run's index row (cheap: no state is loaded), or undefined. */
  record(runId: string): Promise<RunRecord | undefined>
  /** Index rows, newest first; see `Store.listRuns`. */
  list(
    filter?: RunFilter,
    page?: { readonly cursor?: string; readonly limit?: number },
  ): Promise<Page<RunRecord>>
  /** The run an agent's idempotency key started, if any. */
  findByIdempotencyKey(agentId: string, idempotencyKey: string): Promise<RunRecord | undefined>
  /** The run's journal (Factor 5: the event log is the state). */
  journal(
    runId: string,
    options?: { readonly afterSeq?: number; readonly limit?: number },
  ): Promise<JournalEntry[]>
  /**
   * The run's journal from `afterSeq`, then each new entry as it is appended, until the run ends.
   * Entries of a run owned here arrive as they are committed; a run owned elsewhere is read every `pollMs`.
   */
  follow(
    runId: string,
    options?: { readonly afterSeq?: number; readonly pollMs?: number; readonly signal?: AbortSignal },
  ): AsyncIterable<JournalEntry>
  /**
   * The run's stream parts with their positions: replayed from the journal after `after`, then
   * live as the run makes them (deltas included), ending after `finish` (or at a pause with
   * `untilPause`). Every reader, whenever it joins, ends with the same message.
   */
  stream(runId: string, options?: StreamOptions): AsyncIterable<PositionedPart>
  /** A handle for any run; `parts()` shows what happens from now on. */
  handle(runId: string): RunHandle
  /** Decisions and answers go to the run's owner, wherever it is, or wake the run here. */
  approve(runId: string, toolCallId: string, options?: DecisionOptions): Promise<void>
  deny(runId: string, toolCallId: string, options?: DecisionOptions): Promise<void>
  respond(
    runId: string,
    requestId: string,
    answer: JsonValue,
    options?: { readonly by?: string },
  ): Promise<void>
  cancel(runId: string, reason?: string): Promise<void>
  /** Whether this process holds the run in memory right now. */
  isActive(runId: string): boolean
  /** Runs held in memory right now (waiting runs are not). */
  readonly activeRuns: number
  /**
   * Stops taking work, stops model calls, lets running tools finish (for up to `graceMs`, default
   * 10 s, then aborts them) and hands every run back (lease released), so another worker continues
   * it at once. Never throws.
   */
  shutdown(options?: { readonly graceMs?: number }): Promise<void>
}
