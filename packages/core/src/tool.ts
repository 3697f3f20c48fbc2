import { ToolError } from './errors.ts'
import type { JsonObject, JsonValue } from './json.ts'
import { checkJsonSchema, jsonSchemaValidator } from './json-schema.ts'
import type { ToolSpec, Usage } from './language-model.ts'
import {
  type InferOutput,
  isStandardSchema,
  jsonSchemaOf,
  type StandardSchema,
  standardValidator,
} from './standard-schema.ts'
import type { StreamPart } from './stream-parts.ts'
import { truncate } from './text.ts'

export { truncate }

/** What a tool may do to the world, which decides whether it is safe to run again after a crash. */
export type SideEffects = 'none' | 'idempotent' | 'unsafe'

/** Retry policy for a tool handler (applied only when `sideEffects` is `none` or `idempotent`). */
export interface ToolRetry {
  /** Total attempts including the first. */
  readonly maxAttempts: number
  /** First backoff delay; doubles each attempt. Default 100 ms. */
  readonly initialDelayMs?: number
  /** Cap on one delay. Default 5 s. */
  readonly maxDelayMs?: number
}

/** What a handler receives besides its input. */
export interface ToolContext {
  readonly runId: string
  readonly sessionId: string | null
  readonly agentId: string
  readonly toolCallId: string
  /** Deterministic per run and tool call: the same on every re-run after a crash. */
  readonly idempotencyKey: string
  /** Aborted on cancel, timeout or shutdown. */
  readonly signal: AbortSignal
  /** Whatever the application injected into the agent or runtime (`context` option). */
  readonly app: Readonly<Record<string, unknown>>
  /** Epoch ms by which the run must end, if it has a time budget (children inherit it). */
  readonly deadline?: number
  /** Adds parts to the run's live stream (agents used as tools forward their child's parts). */
  readonly emit?: (parts: ReadonlyArray<StreamPart>) => void
  /**
   * The run owner's lease epoch: grows with every new owner. Pass it to a downstream system that
   * refuses writes with a smaller token than it has seen, so a stale owner (paused past its lease)
   * can never act after another took over; `signal` also aborts when the lease is lost.
   */
  readonly fencingToken?: number
  /** The runtime the run lives in (agents used as tools start their child runs through it). */
  readonly runtime?: unknown
  /** The run at the top of this run's tree: its own id when it has no parent. */
  readonly rootRunId?: string
  /**
   * Journals a child run's progress in this run, as `child.reported` for this tool call (agents used
   * as tools call it): the parts join the run's stream at durable positions, and the child's model
   * calls and tokens are charged to the run's budgets. Resolves once journaled, or once refused
   * (the call is no longer running, or that child seq was reported already).
   */
  readonly reportChild?: (report: ChildReport) => Promise<void>
  /** The last journal seq of a child this run has journaled a report of (0 if none). */
  readonly reportedChildSeq?: (childRunId: string) => number
}

/** What a supervising tool reports about its child run (journaled as `child.reported` in the parent). */
export interface ChildReport {
  readonly childRunId: string
  /** The child's journal seq this report brings the parent up to. */
  readonly seq: number
  /** Parts for the parent's stream: the child's own wrapped as `data-vel-child`, a grandchild's as they came. */
  readonly parts: ReadonlyArray<StreamPart>
  /** Model calls the child and its descendants made in the reported entries. */
  readonly steps: number
  /** Tokens they used in them. */
  readonly usage: Usage
  /** Dollars those calls cost, each at its own model's price (calls of unpriced models count 0). */
  readonly costUsd?: number
}

/**
 * A tool schema: JSON Schema (draft 2020-12), or any Standard Schema v1 (Zod 4, Valibot, ArkType,
 * Effect's `Schema.standardSchemaV1(schema)`), which also types the handler's input.
 */
export type ToolSchema = StandardSchema | JsonObject

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema inputs are untyped for the handler
type Decoded<S> = S extends StandardSchema ? InferOutput<S> : any

/** Options of `defineTool`. */
export interface ToolOptions<InputSchema extends ToolSchema, Output> {
  /** Unique per agent; `^[a-zA-Z0-9_-]{1,64}$` (what every provider accepts). */
  readonly name: string
  /** Read by the model: say what the tool does and when to use it. */
  readonly description: string
  /** JSON Schema (draft 2020-12) or a Standard Schema of the input object. */
  readonly input: InputSchema
  /**
   * The JSON Schema the model is given, for a Standard Schema `input` whose library does not
   * derive one (Valibot without `toStandardJsonSchema`, Effect, Zod 3), or to override it.
   */
  readonly jsonSchema?: JsonObject | undefined
  /** Optional schema the handler's output must satisfy; a violation becomes an error result. */
  readonly output?: ToolSchema | undefined
  readonly handler: (input: Decoded<InputSchema>, context: ToolContext) => Output | Promise<Output>
  /** Per attempt. Default: the agent's `toolTimeoutMs`. */
  readonly timeoutMs?: number | undefined
  readonly retry?: ToolRetry | undefined
  /** Ask a human before running; a predicate sees the validated input. */
  readonly needsApproval?:
    | boolean
    | ((input: Decoded<InputSchema>, context: ApprovalContext) => boolean | Promise<boolean>)
  /** Default `unsafe`: never re-run after a crash unless declared otherwise. */
  readonly sideEffects?: SideEffects | undefined
  /** A handoff: when the tool succeeds, its output is the run's answer and the run ends. */
  readonly final?: boolean | undefined
}

/** What an approval predicate receives. */
export interface ApprovalContext {
  readonly runId: string
  readonly agentId: string
  readonly toolCallId: string
}

/** The outcome of validating a value against a tool schema. */
export type Validation<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string }

/** A defined tool: the spec a model sees, validators, the handler and its policy. */
// biome-ignore lint/suspicious/noExplicitAny: tools of any input live in one list (handler contravariance)
export interface Tool<Input = any, Output = any> {
  readonly name: string
  readonly description: string
  readonly inputSchema: JsonObject
  readonly outputSchema: JsonObject | undefined
  readonly handler: (input: Input, context: ToolContext) => Output | Promise<Output>
  readonly timeoutMs: number | undefined
  readonly retry: ToolRetry | undefined
  readonly needsApproval: boolean | ((input: Input, context: ApprovalContext) => boolean | Promise<boolean>)
  readonly sideEffects: SideEffects
  /** A handoff: a successful call ends the run with the tool's output as the answer. */
  readonly final: boolean
  /**
   * Validates model arguments and gives the handler's input (a Standard Schema's output, with its
   * transforms and defaults). Never throws. A Promise only when the schema validates
   * asynchronously (a Zod async refinement, a Valibot `*Async` schema): callers must `await` it.
   */
  validateInput(input: unknown): Validation<Input> | Promise<Validation<Input>>
  /** Validates handler output and converts it to JSON. Never throws; a Promise as for `validateInput`. */
  validateOutput(output: unknown): Validation<JsonValue> | Promise<Validation<JsonValue>>
  /** The `ToolSpec` given to models. */
  readonly spec: ToolSpec
}

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/
const maxErrorLength = 600

// Effect schemas carry this symbol (effect/Schema's `TypeId`); checked without importing Effect.
const effectSchemaTypeId = Symbol.for('effect/Schema')

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isEffectSchema = (value: unknown): boolean =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && effectSchemaTypeId in value

/** What to do when a library gives no JSON Schema, by `~standard.vendor`. */
const jsonSchemaHints: Readonly<Record<string, string>> = {
  valibot:
    'wrap the schema in `toStandardJsonSchema(schema)` from `@valibot/to-json-schema`, or pass `jsonSchema`',
  effect: 'pass `jsonSchema: JSONSchema.make(schema)` (from `effect/JSONSchema`)',
  zod: 'Zod 4 derives it; with Zod 3 pass `jsonSchema`',
}

const andThen = <A, B>(value: A | Promise<A>, next: (value: A) => B): B | Promise<B> =>
  value instanceof Promise ? value.then(next) : next(value as A)

/** Converts a handler's return value to JSON (undefined becomes null); fails on cycles or BigInt. */
const toJson = (value: unknown): Validation<JsonValue> => {
  if (value === undefined) return { ok: true, value: null }
  try {
    const text = JSON.stringify(value)
    return text === undefined ? { ok: true, value: null } : { ok: true, value: JSON.parse(text) as JsonValue }
  } catch (cause) {
    return { ok: false, error: `output is not JSON: ${(cause as Error).message}` }
  }
}

type Compiled<T> =
  | {
      readonly kind: 'standard'
      readonly jsonSchema: JsonObject | undefined
      readonly validate: (value: unknown) => Validation<T> | Promise<Validation<T>>
    }
  | {
      readonly kind: 'json'
      readonly jsonSchema: JsonObject
      readonly validate: (value: unknown) => Validation<T>
    }

/**
 * Checks a schema and makes its validator, without compiling anything yet. A Standard Schema's
 * JSON Schema is derived here (the input's is required: the model needs it).
 */
const compile = <T>(
  toolName: string,
  schema: unknown,
  what: 'input' | 'output',
  explicit: JsonObject | undefined,
): Compiled<T> => {
  const invalid = (message: string, cause?: unknown): never => {
    throw new ToolError(
      'invalid-definition',
      toolName,
      `tool '${toolName}': ${message}`,
      cause === undefined ? {} : { cause },
    )
  }
  if (isStandardSchema(schema)) {
    const vendor = schema['~standard'].vendor
    let jsonSchema = explicit
    if (jsonSchema === undefined) {
      let derived: unknown
      try {
        derived = jsonSchemaOf(schema, what)
      } catch (cause) {
        if (what === 'input')
          invalid(
            `the ${vendor} schema could not give a JSON Schema (${(cause as Error).message}); pass \`jsonSchema\``,
            cause,
          )
      }
      // A JSON round trip keeps only what a provider can receive.
      if (derived !== undefined) jsonSchema = JSON.parse(JSON.stringify(derived)) as JsonObject
      if (jsonSchema === undefined && what === 'input')
        invalid(
          `the ${vendor} schema gives no JSON Schema for the model (no \`~standard.jsonSchema\`): ${jsonSchemaHints[vendor] ?? 'pass `jsonSchema`'}`,
        )
    }
    if (jsonSchema !== undefined && !isObject(jsonSchema))
      invalid(`the ${what} JSON Schema must be an object`)
    return {
      kind: 'standard',
      jsonSchema,
      validate: standardValidator(schema as StandardSchema<unknown, T>, maxErrorLength),
    }
  }
  if (isEffectSchema(schema))
    invalid(
      `an Effect Schema must be given as \`Schema.standardSchemaV1(schema)\`, with \`jsonSchema: JSONSchema.make(schema)\` for the input (@vel/core does not load effect/Schema)`,
    )
  if (!isObject(schema))
    invalid(
      `${what} must be a JSON Schema object or a Standard Schema (Zod 4, Valibot, ArkType, Effect's Schema.standardSchemaV1)`,
    )
  if (explicit !== undefined)
    invalid('`jsonSchema` is only for a Standard Schema `input`; `input` is already JSON Schema')
  const jsonSchema = schema as JsonObject
  const problem = checkJsonSchema(jsonSchema)
  if (problem !== undefined) invalid(`invalid ${what} JSON Schema: ${problem}`)
  return {
    kind: 'json',
    jsonSchema,
    validate: jsonSchemaValidator<T>(
      jsonSchema,
      (reason) => `tool '${toolName}' has an invalid ${what} JSON Schema: ${reason}`,
      maxErrorLength,
    ),
  }
}

/**
 * Defines a tool. Nothing is compiled here: JSON Schemas get a cheap structural check now and are
 * compiled by Ajv on first validation; Standard Schemas give their JSON Schema now. An invalid
 * name or schema, or a Standard Schema without a JSON Schema for the model, throws a
 * `ToolError { reason: 'invalid-definition' }`.
 */
export function defineTool<InputSchema extends ToolSchema, Output>(
  options: ToolOptions<InputSchema, Output>,
): Tool<Decoded<InputSchema>, Output> {
  if (typeof options.name !== 'string' || !toolNamePattern.test(options.name))
    throw new ToolError(
      'invalid-definition',
      String(options.name),
      `tool name '${String(options.name)}' must match ${toolNamePattern}`,
    )
  const input = compile<Decoded<InputSchema>>(options.name, options.input, 'input', options.jsonSchema)
  const output =
    options.output === undefined
      ? undefined
      : compile<unknown>(options.name, options.output, 'output', undefined)
  const inputSchema = input.jsonSchema as JsonObject
  const invalidOutput = (error: string): Validation<JsonValue> => ({
    ok: false,
    error: `output invalid: ${error}`,
  })
  return {
    name: options.name,
    description: options.description,
    inputSchema,
    outputSchema: output?.jsonSchema,
    handler: options.handler,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    needsApproval: options.needsApproval ?? false,
    sideEffects: options.sideEffects ?? 'unsafe',
    final: options.final ?? false,
    spec: { name: options.name, description: options.description, inputSchema },
    validateInput: input.validate,
    validateOutput: (value) => {
      if (output === undefined) return toJson(value)
      if (output.kind === 'standard')
        // The schema describes the handler's value (a Date, say); JSON comes after it passes.
        return andThen(output.validate(value), (checked) =>
          checked.ok ? toJson(checked.value) : invalidOutput(checked.error),
        )
      const json = toJson(value)
      if (!json.ok) return json
      const checked = output.validate(json.value)
      return checked.ok ? json : invalidOutput(checked.error)
    },
  }
}

/** Parses a model's raw JSON arguments; empty input means `{}`. */
export const parseToolInput = (
  raw: string,
): { ok: true; value: JsonValue } | { ok: false; error: string } => {
  if (raw.trim() === '') return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(raw) as JsonValue }
  } catch (cause) {
    return {
      ok: false,
      error: `arguments are not valid JSON (${(cause as Error).message}): ${truncate(raw, 200)}`,
    }
  }
}
