import { truncate } from './text.ts'
import type { Validation } from './tool.ts'

/**
 * The Standard Schema v1 interface (standardschema.dev), the part of it Vel reads. Zod 4, Valibot,
 * ArkType and Effect (`Schema.standardSchemaV1`) implement it; declared here structurally so core
 * depends on none of them.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    /** Always 1 for this version of the spec. */
    readonly version: 1
    /** The library that made the schema (`zod`, `valibot`, `arktype`, `effect`, ...). */
    readonly vendor: string
    /** Validates a value; a Promise only when the schema has asynchronous parts. */
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>
    /** Type carrier only: never read at run time. */
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
    /** The Standard JSON Schema converter, where the library provides it. */
    readonly jsonSchema?: StandardJsonSchemaConverter | undefined
  }
}

/** What `~standard.validate` returns: the (possibly transformed) value, or issues. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> }

/** One validation issue: a message and where in the value it applies. */
export interface StandardIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

/** The Standard JSON Schema interface (`~standard.jsonSchema`): JSON Schema of either side. */
export interface StandardJsonSchemaConverter {
  /** JSON Schema of what the schema accepts. Throws when the target is not supported. */
  input(options: { readonly target: string }): Record<string, unknown>
  /** JSON Schema of what validation produces. */
  output(options: { readonly target: string }): Record<string, unknown>
}

/** The type a Standard Schema produces (what a tool handler receives). */
export type InferOutput<S> = S extends { readonly '~standard': { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O }
    ? O
    : unknown
  : never

/** Whether `value` implements Standard Schema v1 (ArkType's schemas are functions, hence the check). */
export const isStandardSchema = (value: unknown): value is StandardSchema => {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const props = (value as { '~standard'?: unknown })['~standard']
  return (
    typeof props === 'object' &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { validate?: unknown }).validate === 'function'
  )
}

const targets = ['draft-2020-12', 'draft-07'] as const

/**
 * The JSON Schema of one side of a Standard Schema: through `~standard.jsonSchema` (draft 2020-12,
 * else draft-07), else Zod 4's own `toJSONSchema` method (Zod releases before the Standard JSON
 * Schema interface). `undefined` when the library offers neither.
 */
export const jsonSchemaOf = (
  schema: StandardSchema,
  side: 'input' | 'output',
): Record<string, unknown> | undefined => {
  const converter = schema['~standard'].jsonSchema
  let lastError: unknown
  if (converter !== undefined && typeof converter[side] === 'function') {
    for (const target of targets) {
      try {
        return converter[side]({ target })
      } catch (cause) {
        lastError = cause
      }
    }
    throw lastError
  }
  const toJSONSchema = (schema as { toJSONSchema?: unknown }).toJSONSchema
  if (schema['~standard'].vendor === 'zod' && typeof toJSONSchema === 'function')
    return toJSONSchema.call(schema, { io: side }) as Record<string, unknown>
  return undefined
}

/** JSON Pointer of an issue path (`/a/0/b`), or `(root)`, as Ajv's `instancePath` reads. */
const pointer = (path: StandardIssue['path']): string => {
  if (path === undefined || path.length === 0) return '(root)'
  return path
    .map((segment) => {
      const key = typeof segment === 'object' && segment !== null ? segment.key : segment
      return `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`
    })
    .join('')
}

/** Compact, model-readable issues: `/path: message` joined with `; `, capped at `max`. */
export const formatIssues = (issues: ReadonlyArray<StandardIssue>, max: number): string =>
  truncate([...new Set(issues.map((issue) => `${pointer(issue.path)}: ${issue.message}`))].join('; '), max)

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'

/** A validator over a Standard Schema that never throws; a Promise only when the schema is async. */
export const standardValidator =
  <T>(schema: StandardSchema<unknown, T>, max: number) =>
  (value: unknown): Validation<T> | Promise<Validation<T>> => {
    const settle = (result: StandardResult<T>): Validation<T> =>
      result.issues === undefined
        ? { ok: true, value: result.value }
        : { ok: false, error: formatIssues(result.issues, max) }
    const failed = (cause: unknown): Validation<T> => ({
      ok: false,
      error: truncate(`validation failed: ${cause instanceof Error ? cause.message : String(cause)}`, max),
    })
    try {
      const result = schema['~standard'].validate(value)
      return isPromiseLike(result) ? Promise.resolve(result).then(settle, failed) : settle(result)
    } catch (cause) {
      return failed(cause)
    }
  }
