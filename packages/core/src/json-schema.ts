import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import type { JsonObject } from './json.ts'
import { truncate } from './text.ts'
import type { Validation } from './tool.ts'

// One Ajv for every tool, made on the first validation. No meta-schema: validating each schema
// against the draft 2020-12 meta-schema costs tens of milliseconds on first use; `checkJsonSchema`
// catches the mistakes people make at definition time, and Ajv's own compile checks keyword values.
let sharedAjv: Ajv2020 | undefined
const ajv = (): Ajv2020 => {
  sharedAjv ??= new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: false,
    validateSchema: false,
    meta: false,
  })
  return sharedAjv
}

const jsonTypes = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'])
const schemaKeywords = [
  'additionalProperties',
  'contains',
  'else',
  'if',
  'not',
  'propertyNames',
  'then',
  'unevaluatedItems',
  'unevaluatedProperties',
] as const
const schemaMapKeywords = [
  '$defs',
  'definitions',
  'dependentSchemas',
  'patternProperties',
  'properties',
] as const
const schemaListKeywords = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const
const numberKeywords = ['exclusiveMaximum', 'exclusiveMinimum', 'maximum', 'minimum', 'multipleOf'] as const
const countKeywords = [
  'maxItems',
  'maxLength',
  'maxProperties',
  'minItems',
  'minLength',
  'minProperties',
] as const

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * A cheap structural check of a JSON Schema (no meta-schema): the first problem as
 * `/pointer: what is wrong`, or `undefined`. Covers types, subschema shapes, `required`, `enum`,
 * numeric limits and `pattern`; Ajv's compile on first validation checks the rest.
 */
export function checkJsonSchema(schema: unknown, at = ''): string | undefined {
  if (typeof schema === 'boolean' && at !== '') return undefined
  if (!isObject(schema)) return `${at || '(root)'}: a schema must be an object`
  const where = (keyword: string) => `${at}/${keyword}`
  const { type } = schema
  if (type !== undefined) {
    const names = Array.isArray(type) ? type : [type]
    if (names.length === 0 || !names.every((name) => typeof name === 'string' && jsonTypes.has(name)))
      return `${where('type')}: must be one of ${[...jsonTypes].join(', ')} (or an array of them), got ${JSON.stringify(type)}`
  }
  for (const keyword of schemaKeywords) {
    if (schema[keyword] === undefined) continue
    const problem = checkJsonSchema(schema[keyword], where(keyword))
    if (problem !== undefined) return problem
  }
  if (schema.items !== undefined) {
    if (Array.isArray(schema.items))
      return `${where('items')}: must be a schema (draft 2020-12 spells a tuple \`prefixItems\`)`
    const problem = checkJsonSchema(schema.items, where('items'))
    if (problem !== undefined) return problem
  }
  for (const keyword of schemaMapKeywords) {
    const map = schema[keyword]
    if (map === undefined) continue
    if (!isObject(map)) return `${where(keyword)}: must be an object of schemas`
    for (const [name, sub] of Object.entries(map)) {
      const problem = checkJsonSchema(
        sub,
        `${where(keyword)}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      )
      if (problem !== undefined) return problem
    }
  }
  for (const keyword of schemaListKeywords) {
    const list = schema[keyword]
    if (list === undefined) continue
    if (!Array.isArray(list) || list.length === 0)
      return `${where(keyword)}: must be a non-empty array of schemas`
    for (const [index, sub] of list.entries()) {
      const problem = checkJsonSchema(sub, `${where(keyword)}/${index}`)
      if (problem !== undefined) return problem
    }
  }
  const { required } = schema
  if (
    required !== undefined &&
    !(Array.isArray(required) && required.every((name) => typeof name === 'string'))
  )
    return `${where('required')}: must be an array of property names`
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) return `${where('enum')}: must be an array`
  for (const keyword of numberKeywords) {
    const value = schema[keyword]
    if (value !== undefined && typeof value !== 'number') return `${where(keyword)}: must be a number`
  }
  if (typeof schema.multipleOf === 'number' && !(schema.multipleOf > 0))
    return `${where('multipleOf')}: must be greater than 0`
  for (const keyword of countKeywords) {
    const value = schema[keyword]
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0))
      return `${where(keyword)}: must be a non-negative integer`
  }
  if (schema.pattern !== undefined) {
    if (typeof schema.pattern !== 'string') return `${where('pattern')}: must be a string`
    try {
      new RegExp(schema.pattern, 'u')
    } catch (cause) {
      return `${where('pattern')}: ${(cause as Error).message}`
    }
  }
  if (schema.$ref !== undefined && typeof schema.$ref !== 'string')
    return `${where('$ref')}: must be a string`
  return undefined
}

/** Compact, model-readable text for Ajv errors: `/path: message` joined, capped in length. */
const formatAjvErrors = (errors: ReadonlyArray<ErrorObject> | null | undefined, max: number): string => {
  const lines = (errors ?? []).map((error) => {
    const path = error.instancePath === '' ? '(root)' : error.instancePath
    if (error.keyword === 'additionalProperties')
      return `${path}: unexpected property '${String((error.params as { additionalProperty?: unknown }).additionalProperty)}'`
    if (error.keyword === 'enum')
      return `${path}: must be one of ${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)}`
    return `${path}: ${error.message ?? error.keyword}`
  })
  return truncate([...new Set(lines)].join('; '), max)
}

/**
 * A validator for a JSON Schema that compiles it with Ajv on its first call, never before, and
 * never throws: a schema Ajv cannot compile fails every validation with `describe`'s text.
 */
export const jsonSchemaValidator = <T>(
  schema: JsonObject,
  describe: (problem: string) => string,
  max: number,
): ((value: unknown) => Validation<T>) => {
  let compiled: ValidateFunction | string | undefined
  return (value) => {
    if (compiled === undefined) {
      try {
        compiled = ajv().compile(schema)
      } catch (cause) {
        compiled = describe((cause as Error).message)
      }
    }
    if (typeof compiled === 'string') return { ok: false, error: compiled }
    return compiled(value)
      ? { ok: true, value: value as T }
      : { ok: false, error: formatAjvErrors(compiled.errors, max) }
  }
}
