/** The demo's travel agent: a scripted model offline, a real one when an API key is set. */
import { createHash } from 'node:crypto'

import { Agent, type ModelConfig } from '@vel/actors'
import { defineTool, type LanguageModel, type Message, type ModelPart } from '@vel/core'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const weather = defineTool({
  name: 'get_weather',
  description: 'Current weather for a city.',
  input: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  handler: async ({ city }: { city: string }) => {
    await sleep(300)
    return { city, forecast: 'sunny', celsius: 24 }
  },
  sideEffects: 'none',
})

export const bookHotel = defineTool({
  name: 'book_hotel',
  description: 'Books a hotel room. Charges the card on file.',
  input: {
    type: 'object',
    properties: { city: { type: 'string' }, nights: { type: 'integer', minimum: 1 } },
    required: ['city', 'nights'],
    additionalProperties: false,
  },
  handler: async ({ city, nights }: { city: string; nights: number }, context) => {
    await sleep(400)
    const confirmation = createHash('sha256')
      .update(context.idempotencyKey)
      .digest('hex')
      .slice(0, 6)
      .toUpperCase()
    return { confirmation: `VEL-${confirmation}`, city, nights }
  },
  sideEffects: 'unsafe',
  needsApproval: true,
})

/** A scripted model: a pure function of the conversation, streamed word by word like a real one. */
export function scriptedTravelModel(delayMs = 25): LanguageModel {
  const say = async function* (id: string, text: string): AsyncGenerator<ModelPart> {
    yield { type: 'text-start', id }
    for (const word of text.split(/(?<= )/)) {
      await sleep(delayMs)
      yield { type: 'text-delta', id, delta: word }
    }
    yield { type: 'text-end', id }
  }
  const usage = { inputTokens: 120, outputTokens: 30, reasoningTokens: 0, cachedInputTokens: 0 }
  return {
    provider: 'scripted',
    modelId: 'travel-script',
    async *stream(request) {
      await sleep(250) // time to first token
      const results = request.messages.flatMap((message: Message) =>
        message.role === 'tool' ? [...message.content] : [],
      )
      const call = (id: string, name: string, input: unknown): ModelPart[] => [
        { type: 'tool-input-start', id, toolName: name },
        { type: 'tool-input-delta', id, delta: JSON.stringify(input) },
        { type: 'tool-input-end', id },
        { type: 'tool-call', toolCallId: id, toolName: name, input: JSON.stringify(input) },
      ]
      if (results.length === 0) {
        yield* say('a', 'Let me check the weather in Lisbon first. ')
        yield* call('call_weather', 'get_weather', { city: 'Lisbon' })
        yield { type: 'finish', finishReason: 'tool-calls', usage }
      } else if (results.length === 1) {
        yield* say('b', 'Sunny and 24°C: a good time to go. I will book two nights. ')
        yield* call('call_book', 'book_hotel', { city: 'Lisbon', nights: 2 })
        yield { type: 'finish', finishReason: 'tool-calls', usage }
      } else {
        const booking = results[1]
        const text =
          booking && 'output' in booking
            ? `Done: two nights in Lisbon, confirmation ${(booking.output as { confirmation: string }).confirmation}. Enjoy the sun!`
            : `I did not book the hotel (${booking && 'error' in booking ? booking.error : 'no result'}). The weather is sunny, 24°C.`
        yield* say('c', text)
        yield { type: 'finish', finishReason: 'stop', usage }
      }
    },
  }
}

/** The model to use: a real provider if its key is set, else the scripted one. */
export function chooseModel(): { model: LanguageModel | ModelConfig; label: string } {
  if (process.env.OPENAI_API_KEY)
    return { model: { provider: 'openai', model: 'gpt-4o-mini' }, label: 'OpenAI gpt-4o-mini' }
  if (process.env.ANTHROPIC_API_KEY)
    return {
      model: { provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
      label: 'Anthropic claude-3-5-haiku',
    }
  if (process.env.GEMINI_API_KEY || process.env.GOOGLE_API_KEY)
    return { model: { provider: 'gemini', model: 'gemini-2.0-flash' }, label: 'Gemini gemini-2.0-flash' }
  return {
    model: scriptedTravelModel(),
    label: 'scripted model (offline; set OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY for a real one)',
  }
}

export function travelAgent(): Agent {
  return new Agent({
    id: 'travel',
    model: chooseModel().model,
    tools: [weather, bookHotel],
    instructions:
      'You are a travel assistant. Check the weather with get_weather, then book the hotel with book_hotel (2 nights), then confirm in one sentence.',
    policies: { maxSteps: 5 },
    // Snapshot often so the crash demo resumes from a snapshot plus a short journal tail.
    snapshotEvery: 3,
  })
}
