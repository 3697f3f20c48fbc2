import { type JsonObject, type JsonValue, ProviderError } from '@vel/core'

/**
 * Gemini accepts a subset of OpenAPI 3.0 for function parameters and response schemas (`Schema`,
 * with upper-case `type`). This converts JSON Schema into it: local `$ref`s are inlined,
 * `type: [T, 'null']` becomes `nullable`, `const` becomes a one-value `enum`, `oneOf` becomes
 * `anyOf`, and keywords Gemini rejects (`$schema`, `additionalProperties`, `default`, ...) are
 * dropped. What cannot be expressed (recursive `$ref`s, non-string enums, mixed type unions,
 * empty nested objects) is refused with `ProviderError { reason: 'bad-request' }` before any call.
 */
export function toGeminiSchema(schema: JsonObject, where: string): JsonObject {
  const definitions = { ...asObject(schema.definitions), ...asObject(schema.$defs) }
  return convert(schema, { definitions, where, path: '#', refs: [] })
}

interface Context {
  readonly definitions: Record<string, JsonValue>
  readonly where: string
  readonly path: string
  readonly refs: ReadonlyArray<string>
}

const typeNames: Record<string, string> = {
  string: 'STRING',
  number: 'NUMBER',
  integer: 'INTEGER',
  boolean: 'BOOLEAN',
  array: 'ARRAY',
  object: 'OBJECT',
}
const formats: Record<string, ReadonlySet<string>> = {
  STRING: new Set(['enum', 'date-time']),
  INTEGER: new Set(['int32', 'int64']),
  NUMBER: new Set(['float', 'double']),
}
const copied = ['description', 'title', 'pattern', 'minimum', 'maximum'] as const
const counts = ['minItems', 'maxItems', 'minLength', 'maxLength', 'minProperties', 'maxProperties'] as const

const asObject = (value: JsonValue | undefined): Record<string, JsonValue> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}

const refuse = (context: Context, problem: string): never => {
  throw new ProviderError({
    reason: 'bad-request',
    provider: 'gemini',
    message: `gemini: ${context.where} schema at ${context.path}: ${problem}`,
  })
}

function convert(schema: JsonObject, context: Context): JsonObject {
  if (typeof schema.$ref === 'string') return convertRef(schema.$ref, context)
  if (Array.isArray(schema.allOf)) return convert(mergeAllOf(schema, context), context)
  const out: JsonObject = {}
  for (const key of copied) if (schema[key] !== undefined) out[key] = schema[key]
  for (const key of counts) if (typeof schema[key] === 'number') out[key] = String(schema[key]) // int64 fields are strings in JSON
  const alternatives = schema.anyOf ?? schema.oneOf
  if (Array.isArray(alternatives)) {
    const nonNull = alternatives.filter((item) => asObject(item).type !== 'null')
    if (nonNull.length < alternatives.length) out.nullable = true
    if (nonNull.length === 1) return { ...convert(asObject(nonNull[0]), context), ...out }
    out.anyOf = nonNull.map((item, index) =>
      convert(asObject(item), { ...context, path: `${context.path}/anyOf/${index}` }),
    )
    return out
  }
  const type = convertType(schema, context, out)
  if (schema.const !== undefined) out.enum = [enumValue(schema.const, context)]
  if (Array.isArray(schema.enum)) {
    out.enum = schema.enum.filter((value) => value !== null).map((value) => enumValue(value, context))
    if (schema.enum.includes(null)) out.nullable = true
  }
  if (out.enum !== undefined) {
    out.type = 'STRING'
    out.format = 'enum'
  }
  const format = schema.format
  if (typeof format === 'string' && type !== undefined && formats[type]?.has(format)) out.format = format
  if (type === 'ARRAY' && schema.items !== undefined) {
    if (Array.isArray(schema.items)) refuse(context, 'tuple `items` arrays are not supported')
    out.items = convert(asObject(schema.items), { ...context, path: `${context.path}/items` })
  }
  if (type === 'OBJECT' || schema.properties !== undefined) convertObject(schema, context, out)
  return out
}

function convertType(schema: JsonObject, context: Context, out: JsonObject): string | undefined {
  const raw = schema.type
  const names = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((name) => name !== 'null')
  if (Array.isArray(raw) && names.length < raw.length) out.nullable = true
  if (names.length > 1) refuse(context, `type unions (${names.join(', ')}) are not supported; use anyOf`)
  const name = names[0]
  if (name === undefined) return schema.properties === undefined ? undefined : 'OBJECT'
  const type = typeof name === 'string' ? typeNames[name] : undefined
  if (type === undefined) return refuse(context, `unknown type ${JSON.stringify(name)}`)
  out.type = type
  return type
}

function convertObject(schema: JsonObject, context: Context, out: JsonObject): void {
  out.type = 'OBJECT'
  const properties = asObject(schema.properties)
  const names = Object.keys(properties)
  if (names.length === 0)
    refuse(context, 'objects without properties are not supported by Gemini (describe the fields)')
  const converted: JsonObject = {}
  for (const name of names)
    converted[name] = convert(asObject(properties[name]), {
      ...context,
      path: `${context.path}/properties/${name}`,
    })
  out.properties = converted
  const required = Array.isArray(schema.required)
    ? schema.required.filter((name): name is string => typeof name === 'string' && name in properties)
    : []
  if (required.length > 0) out.required = required
  out.propertyOrdering = names
}

function convertRef(ref: string, context: Context): JsonObject {
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)
  const name = match?.[1]?.replaceAll('~1', '/').replaceAll('~0', '~')
  const target = name === undefined ? undefined : context.definitions[name]
  if (name === undefined || target === undefined) return refuse(context, `cannot resolve $ref '${ref}'`)
  if (context.refs.includes(ref)) return refuse(context, `recursive $ref '${ref}' cannot be inlined`)
  return convert(asObject(target), { ...context, path: ref, refs: [...context.refs, ref] })
}

function mergeAllOf(schema: JsonObject, context: Context): JsonObject {
  const { allOf, ...rest } = schema
  const merged: JsonObject = { ...rest }
  for (const part of allOf as JsonValue[]) {
    const item = asObject(part)
    const resolved = typeof item.$ref === 'string' ? resolveRef(item.$ref, context) : item
    for (const [key, value] of Object.entries(resolved)) {
      if (key === 'properties') merged.properties = { ...asObject(merged.properties), ...asObject(value) }
      else if (key === 'required')
        merged.required = [
          ...(Array.isArray(merged.required) ? merged.required : []),
          ...(value as JsonValue[]),
        ]
      else if (merged[key] === undefined) merged[key] = value
    }
  }
  return merged
}

const resolveRef = (ref: string, context: Context): JsonObject => {
  const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)?.[1]
  const target = name === undefined ? undefined : context.definitions[name]
  return target === undefined ? refuse(context, `cannot resolve $ref '${ref}'`) : asObject(target)
}

const enumValue = (value: JsonValue, context: Context): string => {
  if (typeof value === 'string') return value
  return refuse(context, `enum value ${JSON.stringify(value)} is not a string (Gemini enums are strings)`)
}
