import {
  type ContextFunction,
  type ContextPolicy,
  defineTool,
  getTool,
  isToolSource,
  type JsonObject,
  type JsonValue,
  type LanguageModel,
  type ModelPrice,
  type ModelRequest,
  type RunInput,
  type StreamPart,
  type Tool,
  type ToolSource,
} from '@vel/core'
import { contactHumanToolName, outputParser, type ResolvedAgent, resolveAgent } from './agent-resolve.ts'
import type { RunHandle, SpawnOptions } from './runtime-types.ts'
import type { Summarizer } from './summarize.ts'
import type { ToolGuard } from './tool-guard.ts'

export { contactHumanToolName }

/** The built-in `contactHuman` tool: add it to an agent's tools to let it ask a human. */
export const contactHuman: Tool<{ question: string }, never> = defineTool({
  name: contactHumanToolName,
  description:
    'Ask a human a question and wait for the answer. Use it when you need information or a decision only a person can give.',
  input: {
    type: 'object',
    properties: { question: { type: 'string', description: 'The question, self-contained.' } },
    required: ['question'],
    additionalProperties: false,
  },
  handler: () => {
    throw new Error('contactHuman is answered by a human, never executed')
  },
  sideEffects: 'none',
})

/** A model chosen by configuration, resolved through `@vel/providers` (`createModel`). */
export interface ModelConfig {
  readonly provider: string
  readonly model: string
  readonly apiKey?: string
  readonly baseURL?: string
  readonly [setting: string]: unknown
}

/**
 * Retry policy of an agent: model calls (exponential backoff with jitter, honouring `retry-after`),
 * and tool calls that may safely run again (`sideEffects: 'none' | 'idempotent'`) unless the tool
 * sets its own. `attempts` is the Python Vel spelling of `maxAttempts`.
 */
export type ModelRetryPolicy = (
  | { readonly maxAttempts: number; readonly attempts?: never }
  | { readonly attempts: number; readonly maxAttempts?: never }
) & {
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
}

/** Limits and policies of an agent's runs. */
export interface AgentPolicies {
  /**
   * Model calls that may use tools; then one tool-less call summarizes. Default 20. Counts the
   * calls of child runs too (agents used as tools, charged up the tree): children that go past it
   * are stopped and the run summarizes.
   */
  readonly maxSteps?: number
  /** Whether the run's own model calls count toward `maxSteps` (pipelines: false). Default true. */
  readonly countOwnSteps?: boolean
  /**
   * Retries of model calls and of tools that may run again; `false` for none. Default: 3 attempts
   * for model calls, none for tools. An `unsafe` tool is never retried (a warning says so once).
   */
  readonly retry?: ModelRetryPolicy | false
  /** Per tool attempt, unless the tool sets its own. Default 60 s. */
  readonly toolTimeoutMs?: number
  readonly budget?: {
    /**
     * Total tokens (input + output) for a run and its child runs. The run's own call going past it
     * fails the run; children going past it are stopped and the run summarizes, as with `maxSteps`.
     */
    readonly maxTokens?: number
    /** Wall time from the run's start; counts across restarts. */
    readonly maxDurationMs?: number
    /**
     * Dollars a run's model calls may cost, at the model's price (`price`, or the runtime's
     * `prices` table). The response that reaches it ends the run gracefully, as `maxSteps` does:
     * its tool calls are not run and its text is the answer. Child runs' calls are charged to it
     * too (each at its model's price): children that reach it are stopped and the run summarizes.
     */
    readonly maxCostUsd?: number
  }
  /** Auto-deny approvals not decided within this time (survives restarts). */
  readonly approvalTimeoutMs?: number
  /** Cap on a tool error's text in the context. Default 1000. */
  readonly maxErrorChars?: number
  /**
   * Allows or refuses each tool call without a person (`(call, ctx) => { allow: true }` or
   * `{ allow: false, reason }`), decided when the model's response is planned and journaled with it.
   */
  readonly guard?: ToolGuard
}

/** Options of an `Agent`. */
export interface AgentOptions {
  /** Unique within a runtime; NATS subjects use it (`vel.agent.<id>.run`). */
  readonly id: string
  /** A `LanguageModel`, or `{ provider, model, ... }` resolved with `@vel/providers`. */
  readonly model: LanguageModel | ModelConfig
  /**
   * Tools, tool sources (e.g. an MCP server's tools, listed before each model call) and names of
   * tools registered with `registerTool`; a name that is not registered fails construction.
   */
  // biome-ignore lint/suspicious/noExplicitAny: tools of any input type
  readonly tools?: ReadonlyArray<Tool<any, any> | ToolSource | string>
  /** The system prompt (Factor 2: you own it). */
  readonly instructions?: string
  readonly policies?: AgentPolicies
  /** Which messages each model call sees (Factor 3). A function is a custom policy. */
  readonly context?: ContextPolicy | ContextFunction
  /**
   * An asynchronous context step run before each model call (Factor 3), e.g. `createSummarizer`:
   * its summary is journaled, so replays and resumes never call it again for that step.
   */
  readonly summarize?: Summarizer
  /** A structured answer: JSON Schema or Effect Schema; the answer is the parsed, checked JSON. */
  readonly output?: JsonObject | { readonly [key: symbol]: unknown }
  /** Model settings passed on every call (temperature, maxOutputTokens, providerOptions, ...). */
  readonly modelSettings?: Omit<ModelRequest, 'messages' | 'tools' | 'toolChoice' | 'responseFormat'>
  /** Injected into every tool handler's `context.app`. */
  readonly app?: Readonly<Record<string, unknown>>
  /** What the model charges; default: its entry in the runtime's `prices` (or Vel's dated defaults). */
  readonly price?: ModelPrice
  /** Events between snapshots. Default 50 (snapshots are also taken on pause and at the end). */
  readonly snapshotEvery?: number
  /** Agents this one runs as children (pipelines, agents as tools); registered with it. */
  readonly children?: ReadonlyArray<Agent>
}

/** What an agent needs from the runtime it is registered with (`createRuntime` binds it). */
export interface AgentHost {
  spawn(agentId: string, input: RunInput, options?: SpawnOptions): Promise<RunHandle>
  /** Spawns and resolves to the answer (what `spawn(...).result` gives, without building a handle). */
  run?(agentId: string, input: RunInput, options?: SpawnOptions): Promise<JsonValue>
}

/**
 * A small, focused agent (Factor 10): a model, tools, instructions and policies. It is a plain
 * definition; its runs are actors that a `Runtime` owns. `run`, `stream` and `start` use the
 * runtime the agent was registered with, or a private one with an in-memory store.
 */
export class Agent {
  readonly id: string
  readonly options: AgentOptions
  private readonly tools: ReadonlyArray<Tool | ToolSource>
  private resolved: Promise<ResolvedAgent> | undefined
  private host: AgentHost | undefined
  private ownHost: Promise<AgentHost> | undefined

  constructor(options: AgentOptions) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.id))
      throw new TypeError(
        `agent id '${options.id}' must match [A-Za-z0-9_-]{1,64} (it is part of NATS subjects)`,
      )
    const names = new Set<string>()
    const tools: Array<Tool | ToolSource> = []
    for (const entry of options.tools ?? []) {
      const tool = typeof entry === 'string' ? getTool(entry) : entry
      if (tool === undefined)
        throw new TypeError(
          `agent '${options.id}': no tool named '${entry as string}' is registered (registerTool it first, or pass the tool itself)`,
        )
      if (!isToolSource(tool)) {
        if (names.has(tool.name))
          throw new TypeError(`agent '${options.id}': two tools are named '${tool.name}'`)
        names.add(tool.name)
      }
      tools.push(tool)
    }
    this.id = options.id
    this.options = options
    this.tools = tools
  }

  /** Binds the agent to a runtime; `run`/`stream`/`start` then use it. Called by `createRuntime`. */
  attach(host: AgentHost): void {
    this.host = host
  }

  /** Runs to the end and resolves to the answer; rejects with a `RunError` if the run fails. */
  async run(input: RunInput, options: SpawnOptions = {}): Promise<JsonValue> {
    const host = this.host ?? (await this.privateHost())
    if (host.run !== undefined) return host.run(this.id, input, options)
    return (await host.spawn(this.id, input, options)).result
  }

  /**
   * Runs and streams UI message stream parts as they happen, steered by the caller (Factor 8): no
   * tool starts before the loop has read its `tool-input-available` part and asked for the next,
   * and breaking out of the loop before the end cancels the run, unless `detach: true`. A run that
   * failed or was cancelled (not by the loop) throws its `RunError` after its last part (`error`,
   * then `finish`), so a loop that reads only text cannot mistake a failure for an empty answer.
   */
  async *stream(input: RunInput, options: SpawnOptions = {}): AsyncGenerator<StreamPart> {
    const handle = await this.start(input, { ...options, steer: true })
    let finished = false
    for await (const part of handle.steered?.() ?? handle.parts()) {
      if (part.type === 'finish') finished = true
      yield part
    }
    // The run ended (a stream that stops without `finish` was handed over: nothing to report).
    if (finished) await handle.result
  }

  /** Starts a run and returns its handle (parts, result, cancel, approve, deny, respond). */
  async start(input: RunInput, options: SpawnOptions = {}): Promise<RunHandle> {
    const host = this.host ?? (await this.privateHost())
    return host.spawn(this.id, input, options)
  }

  /**
   * The JSON Schema of the agent's structured answer (`output`, derived when it is an Effect
   * Schema), exactly as model calls are given it; `undefined` for an agent that answers in text.
   * Adapters publish it (e.g. as an MCP tool's `outputSchema`). Resolves no model or tool.
   */
  async outputSchema(): Promise<JsonObject | undefined> {
    if (this.options.output === undefined) return undefined
    return (await outputParser(this.options.output)).responseFormat?.schema
  }

  /** @internal Resolves the model and tools once. */
  resolve(): Promise<ResolvedAgent> {
    this.resolved ??= resolveAgent(this.options, this.tools)
    return this.resolved
  }

  /** A runtime of its own, with an in-memory store, for an agent used without one. */
  private privateHost(): Promise<AgentHost> {
    this.ownHost ??= (async () => {
      const [{ createRuntime }, { createMemoryStore }] = await Promise.all([
        import('./runtime.ts'),
        import('@vel/store'),
      ])
      return createRuntime({ store: createMemoryStore(), agents: [this] })
    })()
    return this.ownHost
  }
}
