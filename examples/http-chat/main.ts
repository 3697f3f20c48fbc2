/**
 * The HTTP adapter with a small web page: `@vel/http` serves REST and the AI SDK UI message
 * stream; `/` serves index.html, which posts to `/runs/stream` and renders the parts as they
 * arrive. On start it sends itself one request and prints the raw stream, then keeps serving.
 */
import { readFileSync } from 'node:fs'
import { Agent, createRuntime } from '@vel/actors'
import { defineTool, type LanguageModel, type ModelPart } from '@vel/core'
import { createHttpApp, serve } from '@vel/http'
import { createSqliteStore } from '@vel/store/sqlite'

const usage = { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedInputTokens: 0 }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const weather = defineTool({
  name: 'get_weather',
  description: 'Current weather for a city.',
  input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  handler: ({ city }: { city: string }) => ({ city, forecast: 'sunny', celsius: 24 }),
  sideEffects: 'none',
})

/** A scripted model: checks the weather, then streams an answer word by word. */
const model: LanguageModel = {
  provider: 'scripted',
  modelId: 'chat',
  async *stream(request): AsyncGenerator<ModelPart> {
    const last = request.messages.at(-1)
    if (last?.role === 'user') {
      const text = typeof last.content === 'string' ? last.content : ''
      const city = /in ([A-Z][a-z]+)/.exec(text)?.[1] ?? 'Lisbon'
      yield {
        type: 'tool-call',
        toolCallId: `call_${Date.now()}`,
        toolName: 'get_weather',
        input: JSON.stringify({ city }),
      }
      yield { type: 'finish', finishReason: 'tool-calls', usage }
      return
    }
    const result = last?.role === 'tool' ? last.content[0] : undefined
    const output = (result && 'output' in result ? result.output : {}) as { city?: string; celsius?: number }
    yield { type: 'text-start', id: 't' }
    for (const word of `It is sunny and ${output.celsius}°C in ${output.city}. `.split(/(?<= )/)) {
      await sleep(40)
      yield { type: 'text-delta', id: 't', delta: word }
    }
    yield { type: 'text-end', id: 't' }
    yield { type: 'finish', finishReason: 'stop', usage }
  },
}

const store = createSqliteStore({ filename: process.env.VEL_DB ?? ':memory:' })
await store.migrate()
const runtime = createRuntime({ store, agents: [new Agent({ id: 'chat', model, tools: [weather] })] })
const api = createHttpApp({ runtime })
const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8')
const server = await serve({
  app: {
    fetch: (request) =>
      new URL(request.url).pathname === '/'
        ? new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } })
        : api.fetch(request),
  },
  port: Number(process.env.PORT ?? 3000),
})
console.log(`Vel chat at ${server.url}  (API: ${server.url}/openapi.json)\n`)

// A self-check: the raw stream of one request, as the page receives it.
const response = await fetch(`${server.url}/runs/stream`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ agentId: 'chat', input: 'What is the weather in Porto?' }),
})
console.log(`POST /runs/stream -> ${response.status} ${response.headers.get('content-type')}`)
for (const line of (await response.text()).split('\n')) if (line.startsWith('data:')) console.log(`  ${line}`)

if (process.argv.includes('--check')) {
  await server.close()
  await runtime.shutdown()
  await store.close()
} else console.log(`\nOpen ${server.url} in a browser; Ctrl-C to stop.`)
process.once('SIGINT', () => {
  void server.close().then(() => process.exit(0))
})
