import {
  type ContextFunction,
  type ContextPolicy,
  defineTool,
  isToolSource,
  type JsonObject,
  type JsonValue,
  type LanguageModel,
  type ModelPrice,
  type ModelRequest,
  parseToolInput,
  type RunPolicy,
  type Tool,
  type ToolCallPart,
  type ToolPlan,
  type ToolSource,
  type ToolSpec,
  type Validation,
} from '@vel/core'
import type { AgentOptions, ModelConfig, ModelRetryPolicy } from './agent.ts'
import { isPromiseLike } from './promise-like.ts'
import type { Summarizer } from './summarize.ts'
import { guardPlan, type ToolGuard } from './tool-guard.ts'

/** Name of the built-in tool that asks a human a question and waits for the answer (Factor 7). */
export const contactHumanToolName = 'contactHuman'

/** The tools a model call is given: their specs and the tools by name. */
export interface ToolSet {
  readonly specs: ReadonlyArray<ToolSpec>
  readonly byName: ReadonlyMap<string, Tool>
}

/** An agent with everything resolved that a run needs. Internal to the runtime. */
export interface ResolvedAgent {
  readonly id: string
  readonly model: LanguageModel
  readonly instructions: string | undefined
  readonly policy: Partial<RunPolicy>
  readonly maxDurationMs: number | undefined
  /** The agent's own price for its model, if it gives one. */
  readonly price: ModelPrice | undefined
  readonly toolTimeoutMs: number
  /** The agent's retry policy for tools without their own (only `none`/`idempotent` ones retry). */
  readonly toolRetry: import('@vel/core').ToolRetry | undefined
  readonly contexts: Readonly<Record<string, ContextFunction>>
  readonly responseFormat: ModelRequest['responseFormat']
  readonly parseOutput:
    | ((text: string) => { ok: true; value: JsonValue } | { ok: false; error: string })
    | undefined
  readonly modelSettings: AgentOptions['modelSettings']
  readonly app: Readonly<Record<string, unknown>>
  readonly snapshotEvery: number
  /** The asynchronous context step run before each model call, if the agent has one. */
  readonly summarize: Summarizer | undefined
  /**
   * The tools now: the agent's own plus what its sources list (asked before each model call). The
   * agent's own set as it is, not a promise, when it has no sources.
   */
  toolsFor(): ToolSet | Promise<ToolSet>
  /** A tool by name, from the last list the model was given. */
  tool(name: string): Tool | undefined
  /** Whether tools come from sources too (then `toolsFor()` must list them before a lookup after a restart). */
  readonly hasSources: boolean
  /**
   * Decides what to do with each tool call of a response: at once when every check is synchronous
   * (JSON Schema validation, a boolean `needsApproval`), a promise only when one is not.
   */
  plan(
    calls: ReadonlyArray<ToolCallPart>,
    runId: string,
    tools?: ReadonlyMap<string, Tool>,
  ): ToolPlan[] | Promise<ToolPlan[]>
}

/** Total attempts of a retry policy, whichever spelling it uses. */
export const attemptsOf = (policy: ModelRetryPolicy): number => policy.maxAttempts ?? policy.attempts ?? 1

const isLanguageModel = (model: LanguageModel | ModelConfig): model is LanguageModel =>
  typeof (model as LanguageModel).stream === 'function'

async function resolveModel(model: LanguageModel | ModelConfig, retry: ModelRetryPolicy | false | undefined) {
  if (retry === false && isLanguageModel(model)) return model
  const providers = await import('@vel/providers')
  const base = isLanguageModel(model)
    ? model
    : providers.createModel(model as Parameters<typeof providers.createModel>[0])
  if (retry === false) return base
  const policy = retry ?? { maxAttempts: 3 }
  return providers.withRetry(base, {
    maxAttempts: attemptsOf(policy),
    ...(policy.initialDelayMs === undefined ? {} : { initialDelayMs: policy.initialDelayMs }),
    ...(policy.maxDelayMs === undefined ? {} : { maxDelayMs: policy.maxDelayMs }),
  })
}

// Effect schemas are classes (functions), so both kinds of value are checked.
const isEffectSchema = (value: unknown): boolean =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  Symbol.for('effect/Schema') in value

/** Parses and checks structured answers. Effect's Schema modules load only for an Effect Schema. */
export async function outputParser(
  output: AgentOptions['output'],
): Promise<Pick<ResolvedAgent, 'responseFormat' | 'parseOutput'>> {
  if (output === undefined) return { responseFormat: undefined, parseOutput: undefined }
  if (isEffectSchema(output)) {
    const [Schema, JSONSchema, Either] = await Promise.all([
      import('effect/Schema'),
      import('effect/JSONSchema'),
      import('effect/Either'),
    ])
    // biome-ignore lint/suspicious/noExplicitAny: any Effect Schema
    const schema = output as unknown as import('effect/Schema').Schema<any, any, never>
    const decode = Schema.decodeUnknownEither(schema)
    return {
      responseFormat: { type: 'json', schema: JSONSchema.make(schema) as unknown as JsonObject },
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
  const schema = output as JsonObject
  const checker = defineTool({ name: 'output', description: 'output', input: schema, handler: () => null })
  return {
    responseFormat: { type: 'json', schema },
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

/** Resolves the model, tools and policies of an agent's options, once per agent. */
export async function resolveAgent(
  options: AgentOptions,
  tools: ReadonlyArray<Tool | ToolSource>,
): Promise<ResolvedAgent> {
  const model = await resolveModel(options.model, options.policies?.retry)
  const own = new Map<string, Tool>()
  const sources: ToolSource[] = []
  for (const tool of tools) {
    if (isToolSource(tool)) sources.push(tool)
    else own.set(tool.name, tool)
  }
  const fixed: ToolSet = { specs: [...own.values()].map((tool) => tool.spec), byName: own }
  let current = fixed
  const listed = async (): Promise<ToolSet> => {
    const byName = new Map(own)
    for (const source of sources) {
      for (const tool of await source.tools()) if (!byName.has(tool.name)) byName.set(tool.name, tool)
    }
    current = { specs: [...byName.values()].map((tool) => tool.spec), byName }
    return current
  }
  const toolsFor = (): ToolSet | Promise<ToolSet> => (sources.length === 0 ? fixed : listed())
  const context = options.context
  const contexts: Record<string, ContextFunction> = typeof context === 'function' ? { custom: context } : {}
  const contextPolicy: ContextPolicy | undefined =
    typeof context === 'function' ? { type: 'custom', name: 'custom' } : context
  const policies = options.policies ?? {}
  const policy: Partial<RunPolicy> = {
    ...(policies.maxSteps === undefined ? {} : { maxSteps: policies.maxSteps }),
    ...(policies.countOwnSteps === undefined ? {} : { countOwnSteps: policies.countOwnSteps }),
    ...(policies.budget?.maxTokens === undefined ? {} : { maxTokens: policies.budget.maxTokens }),
    ...(policies.budget?.maxCostUsd === undefined ? {} : { maxCostUsd: policies.budget.maxCostUsd }),
    ...(policies.maxErrorChars === undefined ? {} : { maxErrorChars: policies.maxErrorChars }),
    ...(policies.approvalTimeoutMs === undefined ? {} : { approvalTimeoutMs: policies.approvalTimeoutMs }),
    ...(contextPolicy === undefined ? {} : { context: contextPolicy }),
  }
  return {
    id: options.id,
    model,
    toolsFor,
    tool: (name) => current.byName.get(name),
    hasSources: sources.length > 0,
    instructions: options.instructions,
    policy,
    maxDurationMs: policies.budget?.maxDurationMs,
    price: options.price,
    toolTimeoutMs: policies.toolTimeoutMs ?? 60_000,
    toolRetry:
      policies.retry === undefined || policies.retry === false
        ? undefined
        : {
            maxAttempts: attemptsOf(policies.retry),
            ...(policies.retry.initialDelayMs === undefined
              ? {}
              : { initialDelayMs: policies.retry.initialDelayMs }),
            ...(policies.retry.maxDelayMs === undefined ? {} : { maxDelayMs: policies.retry.maxDelayMs }),
          },
    contexts,
    ...(await outputParser(options.output)),
    modelSettings: options.modelSettings,
    app: options.app ?? {},
    snapshotEvery: options.snapshotEvery ?? 50,
    summarize: options.summarize,
    plan: (calls, runId, byName = current.byName) => {
      const app = options.app ?? {}
      const plans: Array<ToolPlan | Promise<ToolPlan>> = []
      let waiting = false
      for (const call of calls) {
        const plan = planCall(byName, call, runId, options.id, policies.guard, app)
        if (isPromiseLike(plan)) waiting = true
        plans.push(plan)
      }
      return waiting ? Promise.all(plans) : (plans as ToolPlan[])
    },
  }
}

const rejected = (call: ToolCallPart, error: string): ToolPlan => ({
  toolCallId: call.id,
  action: 'reject',
  error,
})

/** One call's plan; a promise only when its validation or its `needsApproval` is asynchronous. */
function planCall(
  tools: ReadonlyMap<string, Tool>,
  call: ToolCallPart,
  runId: string,
  agentId: string,
  guard: ToolGuard | undefined,
  app: Readonly<Record<string, unknown>>,
): ToolPlan | Promise<ToolPlan> {
  const tool = tools.get(call.name)
  if (tool === undefined)
    return rejected(
      call,
      `Unknown tool '${call.name}'. Available tools: ${[...tools.keys()].join(', ') || 'none'}.`,
    )
  if (typeof call.input === 'string') {
    const parsed = parseToolInput(call.input)
    if (!parsed.ok) return rejected(call, `Invalid arguments for '${call.name}': ${parsed.error}`)
  }
  const checked = tool.validateInput(call.input)
  return isPromiseLike(checked)
    ? Promise.resolve(checked).then((result) => planChecked(tool, call, result, runId, agentId, guard, app))
    : planChecked(tool, call, checked, runId, agentId, guard, app)
}

/** The plan of a call whose input was validated: the guard, then the built-in, then approval. */
function planChecked(
  tool: Tool,
  call: ToolCallPart,
  checked: Validation<unknown>,
  runId: string,
  agentId: string,
  guard: ToolGuard | undefined,
  app: Readonly<Record<string, unknown>>,
): ToolPlan | Promise<ToolPlan> {
  if (!checked.ok) return rejected(call, `Invalid arguments for '${call.name}': ${checked.error}`)
  if (guard !== undefined) {
    const input = checked.value as JsonValue
    const denied = guardPlan(
      guard,
      { toolCallId: call.id, toolName: call.name, input },
      { runId, agentId, app },
    )
    if (denied !== undefined) return denied
  }
  if (tool.name === contactHumanToolName)
    return {
      toolCallId: call.id,
      action: 'ask-human',
      question: String((checked.value as { question: string }).question),
    }
  if (typeof tool.needsApproval !== 'function') return approvedOrNot(tool, call, tool.needsApproval)
  // A failing policy check errs on the side of asking a human.
  let approval: boolean | Promise<boolean>
  try {
    approval = tool.needsApproval(checked.value, { runId, agentId, toolCallId: call.id })
  } catch {
    return approvedOrNot(tool, call, true)
  }
  return isPromiseLike(approval)
    ? Promise.resolve(approval).then(
        (needed) => approvedOrNot(tool, call, needed),
        () => approvedOrNot(tool, call, true),
      )
    : approvedOrNot(tool, call, approval)
}

const approvedOrNot = (tool: Tool, call: ToolCallPart, approval: boolean): ToolPlan =>
  approval
    ? { toolCallId: call.id, action: 'approve', sideEffects: tool.sideEffects }
    : tool.final
      ? { toolCallId: call.id, action: 'execute', sideEffects: tool.sideEffects, final: true }
      : { toolCallId: call.id, action: 'execute', sideEffects: tool.sideEffects }
