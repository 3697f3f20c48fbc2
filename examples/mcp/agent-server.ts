/**
 * A Vel agent served over MCP (stdio): `trip-planner` looks a city up and books a room, and the
 * booking needs a human's approval. `call-agent.ts` starts this file as an MCP client would; so
 * could Claude Desktop or the MCP Inspector. A scripted model drives it: no keys, no network.
 * (`vel mcp --agents <module>` serves the agents of a module the same way, with a durable store.)
 */
import { Agent, createRuntime } from '@vel/actors'
import { defineTool, type Message } from '@vel/core'
import { serveAgentsOverStdio } from '@vel/mcp/server'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'

const lookup = defineTool({
  name: 'lookup_city',
  description: 'Weather and a hotel for a city.',
  input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  handler: ({ city }: { city: string }) => ({ city, tempC: 21, hotel: `Hotel ${city}` }),
  sideEffects: 'none',
})
const book = defineTool({
  name: 'book_room',
  description: 'Books a room (asks a human first).',
  input: { type: 'object', properties: { hotel: { type: 'string' } }, required: ['hotel'] },
  handler: ({ hotel }: { hotel: string }) => ({ confirmation: `BK-${hotel.length}42`, hotel }),
  needsApproval: true,
})

/** The city in the run's message, and the tool results so far, decide the next turn. */
const model = createScriptedModel({
  respond: (request) => {
    const user = request.messages.find((message: Message) => message.role === 'user')
    const city = typeof user?.content === 'string' ? (user.content.split(' ').at(-1) ?? 'Lisbon') : 'Lisbon'
    const results = request.messages.flatMap((message) => (message.role === 'tool' ? message.content : []))
    if (results.length === 0)
      return { toolCalls: [{ id: 'call_lookup', name: 'lookup_city', input: { city } }] }
    if (results.length === 1)
      return { toolCalls: [{ id: 'call_book', name: 'book_room', input: { hotel: `Hotel ${city}` } }] }
    const booking = results[1]
    return {
      text:
        booking && 'output' in booking
          ? `Booked Hotel ${city} (${JSON.stringify(booking.output)}); it is 21 °C there.`
          : `I did not book anything: ${booking && 'error' in booking ? booking.error : 'no answer'}.`,
    }
  },
})

const agent = new Agent({ id: 'trip-planner', model, tools: [lookup, book] })
const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
const serving = await serveAgentsOverStdio({
  runtime,
  agents: [{ agent, description: 'Plans a trip to a city: checks the weather and books a hotel.' }],
  name: 'trips',
})
// Logs go to stderr: stdout carries the protocol.
console.error('trip-planner served over stdio')
await serving.closed
await runtime.shutdown()
