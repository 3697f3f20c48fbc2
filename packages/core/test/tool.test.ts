import * as JSONSchema from 'effect/JSONSchema'
import * as Schema from 'effect/Schema'
import { describe, expect, it } from 'vitest'
import {
  defineTool,
  getTool,
  type JsonObject,
  listRegisteredTools,
  parseToolInput,
  registerTool,
  type ToolContext,
  ToolError,
} from '../src/index.ts'

const context: ToolContext = {
  runId: 'r',
  sessionId: null,
  agentId: 'a',
  toolCallId: 'c',
  idempotencyKey: 'r:c',
  signal: new AbortController().signal,
  app: {},
}

const definitionError = (schema: unknown): ToolError => {
  try {
    defineTool({ name: 'broken', description: 'd', input: schema as { type: 'object' }, handler: () => 1 })
  } catch (error) {
    expect(ToolError.isInstance(error)).toBe(true)
    expect((error as ToolError).reason).toBe('invalid-definition')
    return error as ToolError
  }
  return expect.unreachable('defineTool accepted the schema')
}

const orderTool = defineTool({
  name: 'place_order',
  description: 'Places an order.',
  input: {
    type: 'object',
    properties: {
      item: { type: 'string' },
      size: { enum: ['s', 'm', 'l'] },
      address: {
        type: 'object',
        properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
        required: ['city', 'zip'],
        additionalProperties: false,
      },
    },
    required: ['item', 'size'],
    additionalProperties: false,
  },
  output: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
  handler: () => ({ orderId: 'o-1' }),
})

describe('tools with JSON Schema', () => {
  it('accepts valid nested input and exposes the spec models see', async () => {
    const input = { item: 'tea', size: 'm', address: { city: 'Lyon', zip: '69001' } }
    expect(await orderTool.validateInput(input)).toEqual({ ok: true, value: input })
    expect(orderTool.spec).toEqual({
      name: 'place_order',
      description: 'Places an order.',
      inputSchema: orderTool.inputSchema,
    })
    expect(orderTool.sideEffects).toBe('unsafe')
    expect(orderTool.needsApproval).toBe(false)
  })

  it.each([
    [{ size: 'm' }, "(root): must have required property 'item'"],
    [{ item: 'tea', size: 'xl' }, '/size: must be one of ["s","m","l"]'],
    [{ item: 'tea', size: 's', colour: 'red' }, "(root): unexpected property 'colour'"],
    [{ item: 42, size: 's' }, '/item: must be string'],
    [{ item: 'tea', size: 's', address: { city: 'Lyon', zip: 'abc' } }, '/address/zip: must match pattern'],
  ])('rejects %j with a compact message the model can act on', async (input, message) => {
    const result = await orderTool.validateInput(input)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.error).toContain(message)
  })

  it('validates output against the output schema', async () => {
    expect(await orderTool.validateOutput({ orderId: 'x' })).toEqual({ ok: true, value: { orderId: 'x' } })
    const bad = await orderTool.validateOutput({ id: 1 })
    expect(bad).toEqual({
      ok: false,
      error: expect.stringContaining("output invalid: (root): must have required property 'orderId'"),
    })
  })

  it('converts output to JSON and refuses what JSON cannot hold', async () => {
    const free = defineTool({ name: 'free', description: 'd', input: { type: 'object' }, handler: () => 1 })
    expect(await free.validateOutput(undefined)).toEqual({ ok: true, value: null })
    expect(await free.validateOutput({ at: new Date(0) })).toEqual({
      ok: true,
      value: { at: '1970-01-01T00:00:00.000Z' },
    })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(await free.validateOutput(cyclic)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not JSON/),
    })
    expect(await free.validateOutput(10n)).toMatchObject({ ok: false })
  })

  it('refuses bad names at definition time', () => {
    expect(() => defineTool({ name: 'has space', description: 'd', input: {}, handler: () => 1 })).toThrow(
      ToolError,
    )
  })

  it.each([
    [{ type: 'nope' }, '/type: must be one of'],
    [{ type: 'object', properties: { size: { type: ['string', 'text'] } } }, '/properties/size/type'],
    [{ type: 'object', properties: { tags: { type: 'array', items: [{ type: 'string' }] } } }, 'prefixItems'],
    [{ type: 'object', required: 'name' }, '/required: must be an array of property names'],
    [{ type: 'object', properties: { age: { type: 'number', minimum: '0' } } }, '/properties/age/minimum'],
    [{ type: 'string', maxLength: -1 }, '/maxLength: must be a non-negative integer'],
    [{ type: 'string', pattern: '(' }, '/pattern:'],
    [{ anyOf: [] }, '/anyOf: must be a non-empty array'],
    [{ type: 'object', properties: { a: 'string' } }, '/properties/a: a schema must be an object'],
    ['not a schema', 'must be a JSON Schema object or a Standard Schema'],
  ])('refuses the invalid JSON Schema %j at definition time, saying where', (schema, message) => {
    expect(definitionError(schema).message).toContain(message)
  })

  it('compiles a JSON Schema on first validation, not at definition', async () => {
    // Definition does only the structural check, so an unresolvable $ref surfaces on first use,
    // as a validation failure that names the tool rather than a throw inside a run.
    const tool = defineTool({
      name: 'dangling',
      description: 'd',
      input: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } },
      handler: () => 1,
    })
    expect(tool.inputSchema).toEqual({ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } })
    const result = await tool.validateInput({ a: 1 })
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(
        /^tool 'dangling' has an invalid input JSON Schema: can't resolve reference/,
      ),
    })
    expect(await tool.validateInput({ a: 2 })).toEqual(result)
  })

  it('accepts schemas that declare their dialect and use $defs', async () => {
    const tool = defineTool({
      name: 'dialect',
      description: 'd',
      input: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { point: { $ref: '#/$defs/point' } },
        $defs: { point: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'number' }] } },
      },
      handler: () => 1,
    })
    expect(await tool.validateInput({ point: [1, 2] })).toMatchObject({ ok: true })
    expect(await tool.validateInput({ point: ['x', 2] })).toMatchObject({
      ok: false,
      error: '/point/0: must be number',
    })
  })

  it('runs its handler with the context', async () => {
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes the idempotency key.',
      input: { type: 'object' },
      handler: (_input, ctx) => ctx.idempotencyKey,
      sideEffects: 'idempotent',
    })
    expect(await echo.handler({}, context)).toBe('r:c')
    const thrower = defineTool({
      name: 'thrower',
      description: 'd',
      input: { type: 'object' },
      handler: () => {
        throw new Error('boom')
      },
    })
    expect(() => thrower.handler({}, context)).toThrow('boom')
  })
})

describe('tools with Effect Schema', () => {
  const Input = Schema.Struct({
    city: Schema.String,
    days: Schema.Number.pipe(Schema.int(), Schema.between(1, 7)),
    units: Schema.Literal('metric', 'imperial'),
    tags: Schema.optional(Schema.Array(Schema.String)),
  })
  const Output = Schema.Struct({ summary: Schema.String })
  const weather = defineTool({
    name: 'weather',
    description: 'Forecast.',
    input: Schema.standardSchemaV1(Input, { onExcessProperty: 'error' }),
    jsonSchema: JSONSchema.make(Input) as unknown as JsonObject,
    output: Schema.standardSchemaV1(Output),
    handler: (input) => ({ summary: `${input.days} days in ${input.city}` }),
    sideEffects: 'none',
  })

  it('sends the JSON Schema it is given', () => {
    expect(weather.inputSchema).toMatchObject({
      type: 'object',
      required: ['city', 'days', 'units'],
      properties: { city: { type: 'string' }, units: { enum: ['metric', 'imperial'] } },
    })
  })

  it('decodes valid input into the typed handler input', async () => {
    const result = await weather.validateInput({ city: 'Oslo', days: 3, units: 'metric' })
    expect(result).toEqual({ ok: true, value: { city: 'Oslo', days: 3, units: 'metric' } })
    if (result.ok) expect(await weather.handler(result.value, context)).toEqual({ summary: '3 days in Oslo' })
  })

  it.each([
    [{ city: 'Oslo', units: 'metric' }, '/days: is missing'],
    [{ city: 'Oslo', days: 9, units: 'metric' }, '/days: '],
    [{ city: 'Oslo', days: 2, units: 'kelvin' }, '/units: '],
    [{ city: 'Oslo', days: 2, units: 'metric', extra: true }, '/extra: is unexpected'],
    [{ city: 'Oslo', days: 2, units: 'metric', tags: [1] }, '/tags/0: Expected string'],
  ])('rejects %j naming the path', async (input, message) => {
    const result = await weather.validateInput(input)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.error).toContain(message)
  })

  it('checks output against an Effect Schema', async () => {
    expect(await weather.validateOutput({ summary: 'ok' })).toEqual({ ok: true, value: { summary: 'ok' } })
    expect(await weather.validateOutput({ summary: 3 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^output invalid: \/summary: Expected string/),
    })
  })

  it('says what to pass instead of a bare Effect Schema', () => {
    const message = definitionError(Input).message
    expect(message).toContain('Schema.standardSchemaV1(schema)')
    expect(message).toContain('jsonSchema: JSONSchema.make(schema)')
    expect(() =>
      defineTool({ name: 'bare', description: 'd', input: Schema.standardSchemaV1(Input), handler: () => 1 }),
    ).toThrow(/gives no JSON Schema.*JSONSchema\.make/)
  })
})

describe('tool registry and argument parsing', () => {
  it('registers, looks up and lists tools by name; a later registration replaces', () => {
    registerTool(orderTool)
    expect(getTool('place_order')).toBe(orderTool)
    expect(getTool('missing')).toBeUndefined()
    const first = defineTool({
      name: 'lookup',
      description: 'v1',
      input: { type: 'object' },
      handler: () => 1,
    })
    const second = defineTool({
      name: 'lookup',
      description: 'v2',
      input: { type: 'object' },
      handler: () => 2,
    })
    registerTool(first)
    registerTool(second)
    expect(getTool('lookup')).toBe(second)
    const names = listRegisteredTools().map((tool) => tool.name)
    expect(names.filter((name) => name === 'lookup')).toHaveLength(1)
    expect(names.indexOf('place_order')).toBeLessThan(names.indexOf('lookup'))
  })

  it('refuses to register what is not a tool', () => {
    expect(() => registerTool({ name: 'get_weather' } as never)).toThrow(
      new TypeError('registerTool expects a tool made by defineTool({ name, description, input, handler })'),
    )
    expect(getTool('get_weather')).toBeUndefined()
  })

  it('parses raw arguments; empty means {}; garbage is a readable error', () => {
    expect(parseToolInput('')).toEqual({ ok: true, value: {} })
    expect(parseToolInput('{"a":1}')).toEqual({ ok: true, value: { a: 1 } })
    expect(parseToolInput('{"a":')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not valid JSON.*\{"a":/),
    })
  })
})
