/**
 * A supervisor pipeline (Factor 10: small, focused agents): a router sends a request either to
 * a research -> write -> review pipeline or straight to a quick answerer. Each agent is its own
 * durable run, linked to its parent. Offline with scripted models; set OPENAI_API_KEY,
 * ANTHROPIC_API_KEY or GEMINI_API_KEY to use a real provider through a `{ provider, model }` config.
 */
import { Agent, createRuntime, type ModelConfig, route, sequence } from '@vel/actors'
import type { LanguageModel, ModelPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'

const usage = { inputTokens: 20, outputTokens: 10, reasoningTokens: 0, cachedInputTokens: 0 }

/** A scripted model that answers with `write(input)`, where input is the last user message. */
const scriptedModel = (write: (input: string) => string): LanguageModel => ({
  provider: 'scripted',
  modelId: 'pipeline',
  async *stream(request): AsyncGenerator<ModelPart> {
    const user = request.messages.findLast((message) => message.role === 'user')
    const input = typeof user?.content === 'string' ? user.content : ''
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: write(input) }
    yield { type: 'text-end', id: 't' }
    yield { type: 'finish', finishReason: 'stop', usage }
  },
})

const realModel: ModelConfig | undefined = process.env.OPENAI_API_KEY
  ? { provider: 'openai', model: 'gpt-4o-mini' }
  : process.env.ANTHROPIC_API_KEY
    ? { provider: 'anthropic', model: 'claude-3-5-haiku-latest' }
    : process.env.GEMINI_API_KEY
      ? { provider: 'gemini', model: 'gemini-2.0-flash' }
      : undefined

const agent = (id: string, instructions: string, offline: (input: string) => string) =>
  new Agent({ id, instructions, model: realModel ?? scriptedModel(offline) })

const researcher = agent('researcher', 'List three short facts about the topic, one per line.', (request) => {
  const topic = request.replace(/^(write )?(an? )?(article|essay) (about|on) /i, '')
  return [
    `- ${topic} began as a small idea`,
    `- ${topic} grew through practice`,
    `- ${topic} is still changing`,
  ].join('\n')
})
const writer = agent(
  'writer',
  'Write one tight paragraph from these notes.',
  (notes) => `Draft: ${notes.replaceAll('- ', '').split('\n').join('; ')}.`,
)
const reviewer = agent('reviewer', 'Fix style and clarity; return only the final text.', (draft) =>
  draft.replace('Draft: ', '').replace(/^./, (first) => first.toUpperCase()),
)
const quick = agent('quick', 'Answer in one sentence.', (question) => `Short answer to "${question}": yes.`)

const pipeline = sequence([researcher, writer, reviewer], { id: 'article', supervision: 'escalate' })
const router = route(
  (input) => (/^(write|article|essay)/i.test(input) ? 'article' : 'quick'),
  { article: pipeline, quick },
  {
    id: 'router',
  },
)
const store = createMemoryStore()
const runtime = createRuntime({ store, agents: [router] })
console.log(`models: ${realModel ? `${realModel.provider} ${realModel.model}` : 'scripted (offline)'}\n`)

for (const request of ['Write an article about sourdough', 'Is tea healthy?']) {
  console.log(`> ${request}`)
  const handle = await router.start(request)
  for await (const part of handle.parts()) {
    if (part.type === 'data-vel-agent') {
      const data = part.data as { agentId: string; status: string }
      if (data.status === 'started') console.log(`  [${data.agentId}]`)
    }
  }
  console.log(`${String(await handle.result)}\n`)
  const children = await store.listRuns({ parentRunId: handle.runId })
  console.log(`  (router run ${handle.runId.slice(0, 8)} with ${children.items.length} child run(s))\n`)
}
await runtime.shutdown()
