/**
 * Many agents in one process: 1,000 sessions started at once, each a durable run (an actor with
 * its own journal) that calls a tool and answers. Prints throughput. No keys, no servers.
 */
import { Agent, createRuntime } from '@vel/actors'
import { defineTool, type LanguageModel, type ModelPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { createSqliteStore } from '@vel/store/sqlite'

const sessions = Number(process.env.SESSIONS ?? 1000)
const usage = { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedInputTokens: 0 }

/** A scripted model: look up the user's number, then answer with its square. */
const model: LanguageModel = {
  provider: 'scripted',
  modelId: 'square',
  async *stream(request): AsyncGenerator<ModelPart> {
    const result = request.messages.find((message) => message.role === 'tool')
    if (result === undefined) {
      const user = request.messages.find((message) => message.role === 'user')
      const n = Number(/\d+/.exec(typeof user?.content === 'string' ? user.content : '')?.[0] ?? 0)
      yield { type: 'tool-call', toolCallId: 'call_1', toolName: 'square', input: JSON.stringify({ n }) }
      yield { type: 'finish', finishReason: 'tool-calls', usage }
      return
    }
    const part = result.content[0]
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: `It is ${part && 'output' in part ? part.output : '?'}.` }
    yield { type: 'text-end', id: 't' }
    yield { type: 'finish', finishReason: 'stop', usage }
  },
}

const square = defineTool({
  name: 'square',
  description: 'Squares a number.',
  input: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  handler: ({ n }: { n: number }) => n * n,
  sideEffects: 'none',
})

for (const [label, store] of [
  ['memory', createMemoryStore()],
  ['sqlite (in-memory file)', createSqliteStore({ filename: ':memory:' })],
] as const) {
  await store.migrate()
  const agent = new Agent({ id: 'squarer', model, tools: [square] })
  const runtime = createRuntime({ store, agents: [agent] })
  const started = performance.now()
  const answers = await Promise.all(
    Array.from({ length: sessions }, (_, index) =>
      agent.run(`What is ${index} squared?`, { sessionId: `user-${index}` }),
    ),
  )
  const seconds = (performance.now() - started) / 1000
  const correct = answers.filter((answer, index) => answer === `It is ${index * index}.`).length
  const events = (await runtime.journal((await store.listRuns({}, { limit: 1 })).items[0]?.runId ?? ''))
    .length
  console.log(
    `${label.padEnd(24)} ${sessions} sessions in ${seconds.toFixed(2)} s: ${(sessions / seconds).toFixed(0)} runs/s, ` +
      `${((sessions * events) / seconds).toFixed(0)} journaled events/s, ${correct}/${sessions} answers correct`,
  )
  await runtime.shutdown()
  await store.close()
}
