import * as Schema from 'effect/Schema'
import { describe, expect, it } from 'vitest'
import {
  defineTool,
  getTool,
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
  it('accepts valid nested input and exposes the spec models see', () => {
    const input = { item: 'tea', size: 'm', address: { city: 'Lyon', zip: '69001' } }
    expect(orderTool.validateInput(input)).toEqual({ ok: true, value: input })
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
  ])('rejects %j with a compact message the model can act on', (input, message) => {
    const result = orderTool.validateInput(input)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.error).toContain(message)
  })

  it('validates output against the output schema', () => {
    expect(orderTool.validateOutput({ orderId: 'x' })).toEqual({ ok: true, value: { orderId: 'x' } })
    const bad = orderTool.validateOutput({ id: 1 })
    expect(bad).toEqual({
      ok: false,
      error: expect.stringContaining("output invalid: (root): must have required property 'orderId'"),
    })
  })

  it('converts output to JSON and refuses what JSON cannot hold', () => {
    const free = defineTool({ name: 'free', description: 'd', input: { type: 'object' }, handler: () => 1 })
    expect(free.validateOutput(undefined)).toEqual({ ok: true, value: null })
    expect(free.validateOutput({ at: new Date(0) })).toEqual({
      ok: true,
      value: { at: '1970-01-01T00:00:00.000Z' },
    })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(free.validateOutput(cyclic)).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) })
    expect(free.validateOutput(10n)).toMatchObject({ ok: false })
  })

  it('refuses bad names and bad schemas at definition time', () => {
    expect(() => defineTool({ name: 'has space', description: 'd', input: {}, handler: () => 1 })).toThrow(
      ToolError,
    )
    try {
      defineTool({ name: 'broken', description: 'd', input: { type: 'nope' }, handler: () => 1 })
      expect.unreachable()
    } catch (error) {
      expect(ToolError.isInstance(error)).toBe(true)
      expect((error as ToolError).reason).toBe('invalid-definition')
    }
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
  const weather = defineTool({
    name: 'weather',
    description: 'Forecast.',
    input: Input,
    output: Schema.Struct({ summary: Schema.String }),
    handler: (input) => ({ summary: `${input.days} days in ${input.city}` }),
    sideEffects: 'none',
  })

  it('derives the JSON Schema providers receive', () => {
    expect(weather.inputSchema).toMatchObject({
      type: 'object',
      required: ['city', 'days', 'units'],
      properties: { city: { type: 'string' }, units: { enum: ['metric', 'imperial'] } },
    })
  })

  it('decodes valid input into the typed handler input', async () => {
    const result = weather.validateInput({ city: 'Oslo', days: 3, units: 'metric' })
    expect(result).toEqual({ ok: true, value: { city: 'Oslo', days: 3, units: 'metric' } })
    if (result.ok) expect(await weather.handler(result.value, context)).toEqual({ summary: '3 days in Oslo' })
  })

  it.each([
    [{ city: 'Oslo', units: 'metric' }, '/days'],
    [{ city: 'Oslo', days: 9, units: 'metric' }, '/days'],
    [{ city: 'Oslo', days: 2, units: 'kelvin' }, '/units'],
    [{ city: 'Oslo', days: 2, units: 'metric', extra: true }, '/extra'],
    [{ city: 'Oslo', days: 2, units: 'metric', tags: [1] }, '/tags/0'],
  ])('rejects %j naming the path', (input, path) => {
    const result = weather.validateInput(input)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.error).toContain(path)
  })

  it('checks output against an Effect Schema', () => {
    expect(weather.validateOutput({ summary: 'ok' })).toEqual({ ok: true, value: { summary: 'ok' } })
    expect(weather.validateOutput({ summary: 3 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^output invalid/),
    })
  })
})

describe('tool registry and argument parsing', () => {
  it('registers and looks up tools by name', () => {
    registerTool(orderTool)
    expect(getTool('place_order')).toBe(orderTool)
    expect(getTool('missing')).toBeUndefined()
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
