import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import * as Either from 'effect/Either'
import * as JSONSchema from 'effect/JSONSchema'
import * as ParseResult from 'effect/ParseResult'
import * as Schema from 'effect/Schema'
import { ToolError } from './errors.ts'
import type { JsonObject, JsonValue } from './json.ts'
import type { ToolSpec } from './language-model.ts'
import type { StreamPart } from './stream-parts.ts'

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
}

/** A schema given as JSON Schema, or as an Effect Schema from which JSON Schema is derived. */
// biome-ignore lint/suspicious/noExplicitAny: the encoded side of a schema is irrelevant here
export type SchemaInput<T> = Schema.Schema<T, any, never> | JsonObject

// biome-ignore lint/suspicious/noExplicitAny: any Effect Schema without requirements
type AnySchema = Schema.Schema<any, any, never>

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema inputs are untyped for the handler
type Decoded<S> = S extends Schema.Schema<infer A, any, never> ? A : any

/** Options of `defineTool`. */
export interface ToolOptions<InputSchema extends AnySchema | JsonObject, Output> {
  /** Unique per agent; `^[a-zA-Z0-9_-]{1,64}$` (what every provider accepts). */
  readonly name: string
  /** Read by the model: say what the tool does and when to use it. */
  readonly description: string
  /** JSON Schema (draft 2020-12) or an Effect Schema of the input object. */
  readonly input: InputSchema
  /** Optional schema the handler's output must satisfy; a violation becomes an error result. */
  readonly output?: AnySchema | JsonObject | undefined
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
  /** Validates (and, for Effect Schemas, decodes) model arguments. Never throws. */
  validateInput(input: unknown): Validation<Input>
  /** Validates handler output and converts it to JSON. Never throws. */
  validateOutput(output: unknown): Validation<JsonValue>
  /** The `ToolSpec` given to models. */
  readonly spec: ToolSpec
}

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/
const maxErrorLength = 600

let sharedAjv: Ajv2020 | undefined
const ajv = (): Ajv2020 => {
  sharedAjv ??= new Ajv2020({ allErrors: true, strict: false, validateFormats: false })
  return sharedAjv
}

/** Compact, model-readable text for Ajv errors: `/path: message` joined, capped in length. */
const formatAjvErrors = (errors: ReadonlyArray<ErrorObject> | null | undefined): string => {
  const lines = (errors ?? []).map((error) => {
    const path = error.instancePath === '' ? '(root)' : error.instancePath
    if (error.keyword === 'additionalProperties')
      return `${path}: unexpected property '${String((error.params as { additionalProperty?: unknown }).additionalProperty)}'`
    if (error.keyword === 'enum')
      return `${path}: must be one of ${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)}`
    return `${path}: ${error.message ?? error.keyword}`
  })
  return truncate([...new Set(lines)].join('; '), maxErrorLength)
}

/** Caps text at `max` characters, saying how much was cut. */
export const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text
  // The suffix's own length depends on the count; two passes settle it.
  let keep = Math.max(0, max - 20)
  for (let pass = 0; pass < 2; pass++) keep = Math.max(0, max - `… (${text.length - keep} more chars)`.length)
  return `${text.slice(0, keep)}… (${text.length - keep} more chars)`
}

const isEffectSchema = (value: unknown): value is Schema.Schema<unknown, unknown, never> =>
  Schema.isSchema(value)

interface Compiled<T> {
  readonly jsonSchema: JsonObject
  readonly validate: (value: unknown) => Validation<T>
}

const compile = <T>(toolName: string, schema: SchemaInput<T>, what: 'input' | 'output'): Compiled<T> => {
  if (isEffectSchema(schema)) {
    const jsonSchema = JSONSchema.make(schema) as unknown as JsonObject
    const decode = Schema.decodeUnknownEither(schema as Schema.Schema<T, unknown, never>, {
      errors: 'all',
      onExcessProperty: 'error',
    })
    return {
      jsonSchema,
      validate: (value) => {
        const result = decode(value)
        if (Either.isRight(result)) return { ok: true, value: result.right }
        const issues = ParseResult.ArrayFormatter.formatErrorSync(result.left).map(
          (issue) => `${issue.path.length === 0 ? '(root)' : `/${issue.path.join('/')}`}: ${issue.message}`,
        )
        return { ok: false, error: truncate(issues.join('; '), maxErrorLength) }
      },
    }
  }
  let validator: ValidateFunction
  try {
    validator = ajv().compile(schema as JsonObject)
  } catch (cause) {
    throw new ToolError(
      'invalid-definition',
      toolName,
      `tool '${toolName}': invalid ${what} JSON Schema: ${(cause as Error).message}`,
      { cause },
    )
  }
  return {
    jsonSchema: schema as JsonObject,
    validate: (value) =>
      validator(value)
        ? { ok: true, value: value as T }
        : { ok: false, error: formatAjvErrors(validator.errors) },
  }
}

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

/**
 * Defines a tool. Schemas are compiled once here; an invalid schema or name throws a
 * `ToolError { reason: 'invalid-definition' }` at definition time, never during a run.
 */
export function defineTool<InputSchema extends AnySchema | JsonObject, Output>(
  options: ToolOptions<InputSchema, Output>,
): Tool<Decoded<InputSchema>, Output> {
  if (!toolNamePattern.test(options.name))
    throw new ToolError(
      'invalid-definition',
      options.name,
      `tool name '${options.name}' must match ${toolNamePattern}`,
    )
  const input = compile<Decoded<InputSchema>>(
    options.name,
    options.input as SchemaInput<Decoded<InputSchema>>,
    'input',
  )
  const output =
    options.output === undefined
      ? undefined
      : compile<unknown>(options.name, options.output as SchemaInput<unknown>, 'output')
  const outputSchema = isEffectSchema(options.output) ? undefined : output?.jsonSchema
  const encodeOutput = isEffectSchema(options.output)
    ? Schema.encodeUnknownEither(options.output as Schema.Schema<unknown, unknown, never>)
    : undefined
  return {
    name: options.name,
    description: options.description,
    inputSchema: input.jsonSchema,
    outputSchema: output?.jsonSchema ?? outputSchema,
    handler: options.handler,
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    needsApproval: options.needsApproval ?? false,
    sideEffects: options.sideEffects ?? 'unsafe',
    final: options.final ?? false,
    spec: { name: options.name, description: options.description, inputSchema: input.jsonSchema },
    validateInput: input.validate,
    validateOutput: (value) => {
      if (encodeOutput !== undefined) {
        const encoded = encodeOutput(value)
        if (Either.isLeft(encoded))
          return {
            ok: false,
            error: `output invalid: ${truncate(ParseResult.TreeFormatter.formatErrorSync(encoded.left), maxErrorLength)}`,
          }
        return toJson(encoded.right)
      }
      const json = toJson(value)
      if (!json.ok || output === undefined) return json
      const checked = output.validate(json.value)
      return checked.ok ? json : { ok: false, error: `output invalid: ${checked.error}` }
    },
  }
}

const registry = new Map<string, Tool>()

/** Registers a tool globally by name (parity with the Python Vel API). Prefer passing tools to agents. */
export const registerTool = (tool: Tool): void => {
  registry.set(tool.name, tool)
}

/** Looks up a globally registered tool. */
export const getTool = (name: string): Tool | undefined => registry.get(name)

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
