import { defineTool, type Message, type StandardSchema } from '@vel/core'
import * as Schema from 'effect/Schema'
import { describe, expect, it } from 'vitest'
import { Agent } from '../src/index.ts'
import { scripted } from './support.ts'

/**
 * A Standard Schema that validates asynchronously (as a Zod async refinement or a Valibot `*Async`
 * schema does), written to the spec so this package needs no schema library.
 */
const citySchema: StandardSchema<{ city: string }, { city: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: async (value) => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      const city = (value as { city?: unknown } | null)?.city
      if (typeof city !== 'string') return { issues: [{ message: 'expected a string', path: ['city'] }] }
      return { value: { city: city.toUpperCase() } }
    },
  },
}

describe('tools with an asynchronous Standard Schema', () => {
  it('plans and runs with the awaited validation: invalid input is an error result, valid input the decoded value', async () => {
    const seen: string[] = []
    const weather = defineTool({
      name: 'weather',
      description: 'Weather of a city.',
      input: citySchema,
      jsonSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      output: {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: async (value: unknown) => ({ value }),
        },
      },
      handler: (input) => {
        seen.push(input.city)
        return `sunny in ${input.city}`
      },
      sideEffects: 'none',
    })
    const model = scripted((request) => {
      const results = request.messages.filter((message: Message) => message.role === 'tool')
      if (results.length === 0) return { toolCalls: [{ id: 'c1', name: 'weather', input: { city: 7 } }] }
      if (results.length === 1) return { toolCalls: [{ id: 'c2', name: 'weather', input: { city: 'oslo' } }] }
      return { text: JSON.stringify(results.map((message) => message.content)) }
    })
    const agent = new Agent({ id: 'weather', model, tools: [weather], policies: { retry: false } })
    const answer = JSON.parse(String(await agent.run('Weather?')))
    expect(answer).toEqual([
      [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'weather',
          error: "Invalid arguments for 'weather': /city: expected a string",
        },
      ],
      [{ type: 'tool-result', toolCallId: 'c2', toolName: 'weather', output: 'sunny in OSLO' }],
    ])
    expect(seen).toEqual(['OSLO'])
  })
})

describe('an agent whose output is an Effect Schema', () => {
  it('decodes the answer with it (an Effect Schema is a class, not a plain object)', async () => {
    const agent = new Agent({
      id: 'answer',
      model: scripted(() => ({ text: '{"answer":"42"}' })),
      // AgentOptions['output'] does not admit an Effect Schema's type yet; JavaScript callers pass one.
      output: Schema.Struct({ answer: Schema.String }) as never,
      policies: { retry: false },
    })
    expect(await agent.run('The answer?')).toEqual({ answer: '42' })
  })

  it('publishes its JSON Schema through outputSchema() (as the model is given it), none for a text agent', async () => {
    const structured = new Agent({
      id: 'structured',
      model: scripted(() => ({ text: '{}' })),
      output: Schema.Struct({ answer: Schema.String }) as never,
    })
    expect(await structured.outputSchema()).toMatchObject({
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
    })
    const plain = { type: 'object', properties: { n: { type: 'number' } } }
    expect(
      await new Agent({ id: 'json', model: scripted(() => ({ text: '{}' })), output: plain }).outputSchema(),
    ).toBe(plain)
    expect(
      await new Agent({ id: 'text', model: scripted(() => ({ text: 'hi' })) }).outputSchema(),
    ).toBeUndefined()
  })
})
