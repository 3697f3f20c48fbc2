import {
  type ContextFunction,
  type ContextPolicy,
  defineTool,
  type JsonObject,
  type JsonValue,
  type LanguageModel,
  type ModelRequest,
  parseToolInput,
  type RunInput,
  type RunPolicy,
  type StreamPart,
  type Tool,
  type ToolCallPart,
  type ToolPlan,
  type ToolSpec,
  type Validation,
} from '@vel/core'
import * as Either from 'effect/Either'
import * as JSONSchema from 'effect/JSONSchema'
import * as Schema from 'effect/Schema'
import { type AsToolOptions, asTool } from './compose.ts'
import type { RunHandle, Runtime, SpawnOptions } from './runtime.ts'

/** Name of the built-in tool that asks a human a question and waits for the answer (Factor 7). */
export const contactHumanToolName = 'contactHuman'

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

/** Retry policy for model calls (exponential backoff with jitter, honouring `retry-after`). */
export interface ModelRetryPolicy {
  readonly maxAttempts: number
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
}

/** Limits and policies of an agent's runs. */
export interface AgentPolicies {
  /** Model calls that may use tools; then one tool-less call summarizes. Default 20. */
  readonly maxSteps?: number
  /** Model-call retries; `false` for none. Default 3 attempts. */
  readonly retry?: ModelRetryPolicy | false
  /** Per tool attempt, unless the tool sets its own. Default 60 s. */
  readonly toolTimeoutMs?: number
  readonly budget?: {
    /** Total tokens (input + output) for a run. */
    readonly maxTokens?: number
    /** Wall time from the run's start; counts across restarts. */
    readonly maxDurationMs?: number
  }
  /** Auto-deny approvals not decided within this time (survives restarts). */
  readonly approvalTimeoutMs?: number
  /** Cap on a tool error's text in the context. Default 1000. */
  readonly maxErrorChars?: number
}

/** Options of an `Agent`. */
export interface AgentOptions {
  /** Unique within a runtime; NATS subjects use it (`vel.agent.<id>.run`). */
  readonly id: string
  /** A `LanguageModel`, or `{ provider, model, ... }` resolved with `@vel/providers`. */
  readonly model: LanguageModel | ModelConfig
  // biome-ignore lint/suspicious/noExplicitAny: tools of any input type
  readonly tools?: ReadonlyArray<Tool<any, any>>
  /** The system prompt (Factor 2: you own it). */
  readonly instructions?: string
  readonly policies?: AgentPolicies
  /** Which messages each model call sees (Factor 3). A function is a custom policy. */
  readonly context?: ContextPolicy | ContextFunction
  /** A structured answer: JSON Schema or Effect Schema; the answer is the parsed, checked JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: any Effect Schema
  readonly output?: JsonObject | Schema.Schema<any, any, never>
  /** Model settings passed on every call (temperature, maxOutputTokens, providerOptions, ...). */
  readonly modelSettings?: Omit<ModelRequest, 'messages' | 'tools' | 'toolChoice' | 'responseFormat'>
  /** Injected into every tool handler's `context.app`. */
  readonly app?: Readonly<Record<string, unknown>>
  /** Events between snapshots. Default 50 (snapshots are also taken on pause and at the end). */
  readonly snapshotEvery?: number
  /** Agents this one runs as children (pipelines, agents as tools); registered with it. */
  readonly children?: ReadonlyArray<Agent>
}

/** An agent with everything resolved that a run needs. Internal to the runtime. */
export interface ResolvedAgent {
  readonly id: string
  readonly model: LanguageModel
  readonly tools: ReadonlyMap<string, Tool>
  readonly specs: ReadonlyArray<ToolSpec>
  readonly instructions: string | undefined
  readonly policy: Partial<RunPolicy>
  readonly maxDurationMs: number | undefined
  readonly toolTimeoutMs: number
  readonly contexts: Readonly<Record<string, ContextFunction>>
  readonly responseFormat: ModelRequest['responseFormat']
  readonly parseOutput:
    | ((text: string) => { ok: true; value: JsonValue } | { ok: false; error: string })
    | undefined
  readonly modelSettings: AgentOptions['modelSettings']
  readonly app: Readonly<Record<string, unknown>>
  readonly snapshotEvery: number
  /** Decides what to do with each tool call of a response. */
  plan(calls: ReadonlyArray<ToolCallPart>, context: { runId: string }): Promise<ToolPlan[]>
}

const isLanguageModel = (model: LanguageModel | ModelConfig): model is LanguageModel =>
  typeof (model as LanguageModel).stream === 'function'

/**
 * A small, focused agent (Factor 10): a model, tools, instructions and policies. It is a
 * definition; runs are actors created by a `Runtime`. Used alone, `run`/`stream`/`start` use a
 * private runtime with an in-memory store (or `createRuntime({ agents: [agent] })` for your own).
 */
export class Agent {
  readonly id: string
  readonly options: AgentOptions
  private resolved: Promise<ResolvedAgent> | undefined
  private runtime: Runtime | undefined
  private ownRuntime: Promise<Runtime> | undefined

  constructor(options: AgentOptions) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.id))
      throw new TypeError(
        `agent id '${options.id}' must match [A-Za-z0-9_-]{1,64} (it is part of NATS subjects)`,
      )
    const names = new Set<string>()
    for (const tool of options.tools ?? []) {
      if (names.has(tool.name))
        throw new TypeError(`agent '${options.id}': two tools are named '${tool.name}'`)
      names.add(tool.name)
    }
    this.id = options.id
    this.options = options
  }

  /** Binds the agent to a runtime; `run`/`stream`/`start` then use it. Called by `createRuntime`. */
  attach(runtime: Runtime): void {
    this.runtime = runtime
  }

  /** Runs to the end and resolves to the answer; rejects with a `RunError` if the run fails. */
  async run(input: RunInput, options: SpawnOptions = {}): Promise<JsonValue> {
    const handle = await this.start(input, { ...options, stream: false })
    return handle.result
  }

  /** Runs and streams UI message stream parts as they happen. */
  async *stream(input: RunInput, options: SpawnOptions = {}): AsyncGenerator<StreamPart> {
    const handle = await this.start(input, { ...options, stream: true })
    yield* handle.parts()
  }

  /** Starts a run and returns its handle (parts, result, cancel, approve, deny, respond). */
  async start(input: RunInput, options: SpawnOptions = {}): Promise<RunHandle> {
    const runtime = await this.currentRuntime()
    return runtime.spawn(this.id, input, options)
  }

  /** This agent as a tool another agent can call; each call is a durable child run. */
  asTool(options: AsToolOptions = {}): Tool<{ input: string }, JsonValue> {
    return asTool(this, options)
  }

  /** @internal Resolves the model and tools once. */
  resolve(): Promise<ResolvedAgent> {
    this.resolved ??= resolveAgent(this.options)
    return this.resolved
  }

  /** @internal The runtime this agent runs in (its own in-memory one if none was given). */
  async currentRuntime(): Promise<Runtime> {
    if (this.runtime) return this.runtime
    this.ownRuntime ??= (async () => {
      const [{ createRuntime }, { createMemoryStore }] = await Promise.all([
        import('./runtime.ts'),
        import('@vel/store'),
      ])
      const runtime = createRuntime({ store: createMemoryStore(), agents: [] })
      runtime.register(this)
      return runtime
    })()
    return this.ownRuntime
  }
}

async function resolveModel(model: LanguageModel | ModelConfig, retry: ModelRetryPolicy | false | undefined) {
  if (retry === false && isLanguageModel(model)) return model
  const providers = await import('@vel/providers')
  const base = isLanguageModel(model)
    ? model
    : providers.createModel(model as Parameters<typeof providers.createModel>[0])
  if (retry === false) return base
  const policy = retry ?? { maxAttempts: 3 }
  return providers.withRetry(base, {
    maxAttempts: policy.maxAttempts,
    ...(policy.initialDelayMs === undefined ? {} : { initialDelayMs: policy.initialDelayMs }),
    ...(policy.maxDelayMs === undefined ? {} : { maxDelayMs: policy.maxDelayMs }),
  })
}

function outputParser(output: AgentOptions['output']): Pick<ResolvedAgent, 'responseFormat' | 'parseOutput'> {
  if (output === undefined) return { responseFormat: undefined, parseOutput: undefined }
  if (Schema.isSchema(output)) {
    const decode = Schema.decodeUnknownEither(output)
    return {
      responseFormat: { type: 'json', schema: JSONSchema.make(output) as unknown as JsonObject },
      parseOutput: (text) => {
        const parsed = parseToolInput(text)
        if (!parsed.ok) return { ok: false, error: `answer is not JSON: ${parsed.error}` }
        const result = decode(parsed.value)
        return Either.isRight(result)
          ? { ok: true, value: JSON.parse(JSON.stringify(result.right)) as JsonValue }
          : { ok: false, error: `answer does not match the output schema: ${result.left.message}` }
      },
    }
  }
  const checker = defineTool({ name: 'output', description: 'output', input: output, handler: () => null })
  return {
    responseFormat: { type: 'json', schema: output },
    parseOutput: (text) => {
      const parsed = parseToolInput(text)
      if (!parsed.ok) return { ok: false, error: `answer is not JSON: ${parsed.error}` }
      // JSON Schema validation is synchronous (only a Standard Schema may return a Promise).
      const checked = checker.validateInput(parsed.value) as Validation<unknown>
      return checked.ok
        ? { ok: true, value: parsed.value }
        : { ok: false, error: `answer does not match the output schema: ${checked.error}` }
    },
  }
}

async function resolveAgent(options: AgentOptions): Promise<ResolvedAgent> {
  const model = await resolveModel(options.model, options.policies?.retry)
  const tools = new Map<string, Tool>((options.tools ?? []).map((tool) => [tool.name, tool]))
  const context = options.context
  const contexts: Record<string, ContextFunction> = typeof context === 'function' ? { custom: context } : {}
  const contextPolicy: ContextPolicy | undefined =
    typeof context === 'function' ? { type: 'custom', name: 'custom' } : context
  const policies = options.policies ?? {}
  const policy: Partial<RunPolicy> = {
    ...(policies.maxSteps === undefined ? {} : { maxSteps: policies.maxSteps }),
    ...(policies.budget?.maxTokens === undefined ? {} : { maxTokens: policies.budget.maxTokens }),
    ...(policies.maxErrorChars === undefined ? {} : { maxErrorChars: policies.maxErrorChars }),
    ...(policies.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: policies.approvalTimeoutMs }),
    ...(contextPolicy === undefined ? {} : { context: contextPolicy }),
  }
  return {
    id: options.id,
    model,
    tools,
    specs: [...tools.values()].map((tool) => tool.spec),
    instructions: options.instructions,
    policy,
    maxDurationMs: policies.budget?.maxDurationMs,
    toolTimeoutMs: policies.toolTimeoutMs ?? 60_000,
    contexts,
    ...outputParser(options.output),
    modelSettings: options.modelSettings,
    app: options.app ?? {},
    snapshotEvery: options.snapshotEvery ?? 50,
    plan: (calls, { runId }) => Promise.all(calls.map((call) => planCall(tools, call, runId, options.id))),
  }
}

async function planCall(
  tools: ReadonlyMap<string, Tool>,
  call: ToolCallPart,
  runId: string,
  agentId: string,
): Promise<ToolPlan> {
  const reject = (error: string): ToolPlan => ({ toolCallId: call.id, action: 'reject', error })
  const tool = tools.get(call.name)
  if (tool === undefined)
    return reject(`Unknown tool '${call.name}'. Available tools: ${[...tools.keys()].join(', ') || 'none'}.`)
  if (typeof call.input === 'string') {
    const parsed = parseToolInput(call.input)
    if (!parsed.ok) return reject(`Invalid arguments for '${call.name}': ${parsed.error}`)
  }
  const checked = await tool.validateInput(call.input)
  if (!checked.ok) return reject(`Invalid arguments for '${call.name}': ${checked.error}`)
  if (tool.name === contactHumanToolName)
    return {
      toolCallId: call.id,
      action: 'ask-human',
      question: String((checked.value as { question: string }).question),
    }
  let approval = false
  if (typeof tool.needsApproval === 'function') {
    try {
      approval = await tool.needsApproval(checked.value, { runId, agentId, toolCallId: call.id })
    } catch {
      approval = true // A failing policy check errs on the side of asking a human.
    }
  } else approval = tool.needsApproval
  if (approval) return { toolCallId: call.id, action: 'approve', sideEffects: tool.sideEffects }
  return {
    toolCallId: call.id,
    action: 'execute',
    sideEffects: tool.sideEffects,
    ...(tool.final ? { final: true } : {}),
  }
}
