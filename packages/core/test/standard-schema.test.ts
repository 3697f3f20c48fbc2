import { toJsonSchema, toStandardJsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { describe, expect, expectTypeOf, it } from 'vitest'
import * as z from 'zod'
import { defineTool, type JsonObject, type ToolContext, ToolError, type Validation } from '../src/index.ts'

const context: ToolContext = {
  runId: 'r',
  sessionId: null,
  agentId: 'a',
  toolCallId: 'c',
  idempotencyKey: 'r:c',
  signal: new AbortController().signal,
  app: {},
}

const definitionError = (define: () => unknown): ToolError => {
  try {
    define()
  } catch (error) {
    expect(ToolError.isInstance(error)).toBe(true)
    expect((error as ToolError).reason).toBe('invalid-definition')
    return error as ToolError
  }
  return expect.unreachable('the tool was accepted')
}

describe('tools from Zod 4', () => {
  const weather = defineTool({
    name: 'weather',
    description: 'Forecast.',
    input: z.object({
      city: z.string().min(1).describe('City name'),
      days: z.number().int().min(1).max(7).default(1),
      units: z.enum(['metric', 'imperial']).transform((units) => units.toUpperCase()),
    }),
    handler: (input) => `${input.days} day(s) in ${input.city}, ${input.units}`,
    sideEffects: 'none',
  })

  it('types the handler with the schema output (defaults and transforms applied)', () => {
    expectTypeOf(weather.handler).parameter(0).toEqualTypeOf<{ city: string; days: number; units: string }>()
    expectTypeOf(weather.validateInput).returns.toEqualTypeOf<
      | Validation<{ city: string; days: number; units: string }>
      | Promise<Validation<{ city: string; days: number; units: string }>>
    >()
    defineTool({
      name: 'typed',
      description: 'd',
      input: z.object({ count: z.number() }),
      // @ts-expect-error: `count` is a number, so `toUpperCase` does not exist on it
      handler: (input) => input.count.toUpperCase(),
      needsApproval: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ count: number }>()
        return input.count > 10
      },
    })
  })

  it('gives the model the JSON Schema of what it may send (the input side)', () => {
    expect(weather.inputSchema).toMatchObject({
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 1, description: 'City name' },
        days: { type: 'integer', minimum: 1, maximum: 7, default: 1 },
        units: { type: 'string', enum: ['metric', 'imperial'] },
      },
      required: ['city', 'units'],
    })
    expect(weather.spec.inputSchema).toBe(weather.inputSchema)
  })

  it('decodes valid input into what the handler receives', async () => {
    const result = await weather.validateInput({ city: 'Oslo', units: 'metric' })
    expect(result).toEqual({ ok: true, value: { city: 'Oslo', days: 1, units: 'METRIC' } })
    if (result.ok) expect(await weather.handler(result.value, context)).toBe('1 day(s) in Oslo, METRIC')
  })

  it('reports every issue as `/path: message`', async () => {
    expect(await weather.validateInput({ city: 3, days: 9, units: 'metric' })).toEqual({
      ok: false,
      error:
        '/city: Invalid input: expected string, received number; /days: Too big: expected number to be <=7',
    })
    expect(await weather.validateInput('Oslo')).toEqual({
      ok: false,
      error: '(root): Invalid input: expected object, received string',
    })
  })

  it('validates asynchronously when the schema is async (planning must await it)', async () => {
    const known = defineTool({
      name: 'known_city',
      description: 'd',
      input: z.object({ city: z.string().refine(async (city) => city === 'Oslo', 'unknown city') }),
      handler: (input) => input.city,
    })
    const pending = known.validateInput({ city: 'Lima' })
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toEqual({ ok: false, error: '/city: unknown city' })
    expect(await known.validateInput({ city: 'Oslo' })).toEqual({ ok: true, value: { city: 'Oslo' } })
  })

  it('checks output with the schema, then converts it to JSON', async () => {
    const stamped = defineTool({
      name: 'stamped',
      description: 'd',
      input: z.object({}),
      output: z.object({ at: z.date() }),
      handler: () => ({ at: new Date(0) }),
    })
    expect(stamped.outputSchema).toBeUndefined() // Zod cannot express a Date in JSON Schema.
    expect(await stamped.validateOutput({ at: new Date(0) })).toEqual({
      ok: true,
      value: { at: '1970-01-01T00:00:00.000Z' },
    })
    expect(await stamped.validateOutput({ at: 'yesterday' })).toEqual({
      ok: false,
      error: 'output invalid: /at: Invalid input: expected date, received string',
    })
    const counted = defineTool({
      name: 'counted',
      description: 'd',
      input: z.object({}),
      output: z.object({ count: z.number() }),
      handler: () => ({ count: 1 }),
    })
    expect(counted.outputSchema).toMatchObject({ type: 'object', properties: { count: { type: 'number' } } })
  })

  it("uses Zod's own toJSONSchema when the schema has no Standard JSON Schema interface", async () => {
    // The shape of Zod 4 releases before `~standard.jsonSchema`: the vendor says zod and the
    // schema has its own `toJSONSchema`. Built from a real schema, with the interface left out.
    const real = z.object({ q: z.string(), limit: z.number().default(10) })
    const { jsonSchema: _left, ...standard } = real['~standard']
    const older = { '~standard': standard, toJSONSchema: real.toJSONSchema.bind(real) }
    const search = defineTool({ name: 'search', description: 'd', input: older, handler: (input) => input })
    expect(search.inputSchema).toMatchObject({ properties: { q: { type: 'string' } }, required: ['q'] })
    expect(await search.validateInput({ q: 'tea' })).toEqual({ ok: true, value: { q: 'tea', limit: 10 } })
  })

  it('lets an explicit jsonSchema override the derived one', () => {
    const jsonSchema: JsonObject = {
      type: 'object',
      properties: { q: { type: 'string', description: 'Query' } },
    }
    const tool = defineTool({
      name: 'q',
      description: 'd',
      input: z.object({ q: z.string() }),
      jsonSchema,
      handler: () => 1,
    })
    expect(tool.spec.inputSchema).toEqual(jsonSchema)
  })

  it('refuses a schema whose JSON Schema cannot be derived, saying what to do', () => {
    const error = definitionError(() =>
      defineTool({ name: 'when', description: 'd', input: z.object({ at: z.date() }), handler: () => 1 }),
    )
    expect(error.message).toMatch(
      /^tool 'when': the zod schema could not give a JSON Schema \(.*Date.*\); pass `jsonSchema`$/,
    )
  })
})

describe('tools from Valibot', () => {
  const Order = v.object({
    item: v.pipe(v.string(), v.minLength(1)),
    quantity: v.pipe(v.number(), v.integer(), v.minValue(1)),
    note: v.optional(v.string(), ''),
  })

  it('derives the JSON Schema through toStandardJsonSchema and types the handler', async () => {
    const order = defineTool({
      name: 'order',
      description: 'Places an order.',
      input: toStandardJsonSchema(Order),
      handler: (input) => `${input.quantity} × ${input.item}${input.note}`,
    })
    expectTypeOf(order.handler).parameter(0).toEqualTypeOf<{ item: string; quantity: number; note: string }>()
    expect(order.inputSchema).toMatchObject({
      type: 'object',
      properties: { item: { type: 'string', minLength: 1 }, quantity: { type: 'integer', minimum: 1 } },
      required: ['item', 'quantity'],
    })
    expect(await order.validateInput({ item: 'tea', quantity: 2 })).toEqual({
      ok: true,
      value: { item: 'tea', quantity: 2, note: '' },
    })
    expect(await order.validateInput({ item: '', quantity: 0.5 })).toEqual({
      ok: false,
      error:
        '/item: Invalid length: Expected >=1 but received 0; /quantity: Invalid integer: Received 0.5; /quantity: Invalid value: Expected >=1 but received 0.5',
    })
  })

  it('takes a plain Valibot schema with an explicit jsonSchema', async () => {
    const order = defineTool({
      name: 'order',
      description: 'd',
      input: Order,
      jsonSchema: toJsonSchema(Order) as JsonObject,
      handler: (input) => input.quantity,
    })
    expectTypeOf(order.handler).parameter(0).toEqualTypeOf<{ item: string; quantity: number; note: string }>()
    expect(order.inputSchema).toMatchObject({ required: ['item', 'quantity'] })
    expect(await order.validateInput({ item: 'tea' })).toEqual({
      ok: false,
      error: '/quantity: Invalid key: Expected "quantity" but received undefined',
    })
  })

  it('refuses a plain Valibot schema without jsonSchema, naming the converter', () => {
    const error = definitionError(() =>
      defineTool({ name: 'order', description: 'd', input: Order, handler: () => 1 }),
    )
    expect(error.message).toBe(
      "tool 'order': the valibot schema gives no JSON Schema for the model (no `~standard.jsonSchema`): wrap the schema in `toStandardJsonSchema(schema)` from `@valibot/to-json-schema`, or pass `jsonSchema`",
    )
  })

  it('validates asynchronously with an async schema', async () => {
    const reserved = v.objectAsync({
      seat: v.pipeAsync(
        v.string(),
        v.checkAsync(async (seat) => seat !== '1A', 'seat taken'),
      ),
    })
    const book = defineTool({
      name: 'book',
      description: 'd',
      input: reserved,
      jsonSchema: { type: 'object', properties: { seat: { type: 'string' } }, required: ['seat'] },
      handler: (input) => input.seat,
    })
    expectTypeOf(book.handler).parameter(0).toEqualTypeOf<{ seat: string }>()
    const pending = book.validateInput({ seat: '1A' })
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toEqual({ ok: false, error: '/seat: seat taken' })
  })
})

describe('validation errors read the same whatever the library', () => {
  const jsonSchema: JsonObject = {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
    required: ['city', 'days'],
  }
  const schemas = {
    'JSON Schema': jsonSchema,
    zod: z.object({ city: z.string(), days: z.number().int() }),
    valibot: toStandardJsonSchema(v.object({ city: v.string(), days: v.pipe(v.number(), v.integer()) })),
  }

  it.each(Object.entries(schemas))(
    '%s: one `/path: message` per issue, joined by "; "',
    async (_name, input) => {
      const tool = defineTool({ name: 'forecast', description: 'd', input, handler: () => 1 })
      const result = await tool.validateInput({ city: 7, days: 1.5, nested: { ok: true } })
      expect(result.ok).toBe(false)
      expect(result.ok ? '' : result.error).toMatch(/^\/city: [^;]+; \/days: [^;]+$/)
      const missing = await tool.validateInput({})
      const issues = (missing.ok ? '' : missing.error).split('; ')
      expect(issues.length).toBeGreaterThan(0)
      for (const issue of issues) expect(issue).toMatch(/^(\(root\)|\/city|\/days): \S.*(city|days|expected)/)
    },
  )

  it('escapes path segments as JSON Pointer and caps long error text', async () => {
    const tool = defineTool({
      name: 'keys',
      description: 'd',
      input: z.object({ 'a/b': z.string(), list: z.array(z.string()) }),
      handler: () => 1,
    })
    const result = await tool.validateInput({
      'a/b': 1,
      list: Array.from({ length: 200 }, (_, index) => index),
    })
    expect(result.ok ? '' : result.error).toMatch(/^\/a~1b: .*; \/list\/0: .*; \/list\/1: /)
    expect(result.ok ? '' : result.error).toMatch(/… \(\d+ more chars\)$/)
    expect((result.ok ? '' : result.error).length).toBeLessThanOrEqual(600)
  })

  it('turns a validator that throws into a failed validation', async () => {
    const tool = defineTool({
      name: 'throws',
      description: 'd',
      input: z.object({
        a: z.string().refine(() => {
          throw new Error('refinement crashed')
        }),
      }),
      handler: () => 1,
    })
    expect(await tool.validateInput({ a: 'x' })).toEqual({
      ok: false,
      error: 'validation failed: refinement crashed',
    })
  })
})
