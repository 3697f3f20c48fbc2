/**
 * A worker process for the start-up path test, in a process of its own so that nothing is
 * registered with the OpenTelemetry API and nothing has loaded Effect when it starts. Runs, in
 * order: a run whose tools (one synchronous, one asynchronous) succeed first time; one with a
 * trigger's traceparent; one whose idempotent tool fails once and is retried; then registers a
 * tracing SDK (after the runtime was made) and runs a last one. Prints what had resolved
 * `@opentelemetry/api` and `effect` after each, and the spans (STARTUP <json>).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LanguageModel, ModelPart } from '@vel/core'

// Every resolution of these packages from here on is written to this file.
const packages = ['@opentelemetry/api', 'effect']
const file = join(tmpdir(), `vel-startup-resolutions-${process.pid}`)
register(new URL('../../../test/support/resolve-recorder.mjs', import.meta.url), { data: { file, packages } })
const resolved = () => {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []
  return Object.fromEntries(
    packages.map((name) => [
      name,
      lines.filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}/`)).length,
    ]),
  )
}

const { defineTool } = await import('@vel/core')
const { createMemoryStore } = await import('@vel/store')
const { Agent, createRuntime } = await import('../src/index.ts')

const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }
/** Calls each of `tools` once, in turn, then answers `done`. */
const model = (tools: string[]): LanguageModel => ({
  provider: 'scripted',
  modelId: 'startup',
  async *stream(request): AsyncGenerator<ModelPart> {
    const results = request.messages.filter((message) => message.role === 'tool').length
    const name = tools[results]
    if (name !== undefined) {
      yield { type: 'tool-call', toolCallId: `c${results}`, toolName: name, input: '{"a":2,"b":3}' }
      yield { type: 'finish', finishReason: 'tool-calls', usage }
    } else {
      yield { type: 'text-start', id: 't' }
      yield { type: 'text-delta', id: 't', delta: 'done' }
      yield { type: 'text-end', id: 't' }
      yield { type: 'finish', finishReason: 'stop', usage }
    }
  },
})
const input = {
  type: 'object',
  properties: { a: { type: 'number' }, b: { type: 'number' } },
  required: ['a', 'b'],
}
const add = defineTool({
  name: 'add',
  description: 'Adds.',
  input,
  handler: ({ a, b }: { a: number; b: number }) => a + b,
})
const addLater = defineTool({
  name: 'addLater',
  description: 'Adds, asynchronously.',
  input,
  handler: async ({ a, b }: { a: number; b: number }) => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return a + b
  },
})
let flakyCalls = 0
const flaky = defineTool({
  name: 'flaky',
  description: 'Fails on its odd calls.',
  input,
  sideEffects: 'idempotent',
  retry: { maxAttempts: 3, initialDelayMs: 1 },
  handler: async ({ a, b }: { a: number; b: number }) => {
    flakyCalls += 1
    if (flakyCalls % 2 === 1) throw new Error('not yet')
    return a + b
  },
})
const runtime = createRuntime({
  store: createMemoryStore(),
  agents: [
    // No model retries: those are `@vel/providers`' (its `withRetry`), loaded for them.
    new Agent({
      id: 'adder',
      model: model(['add', 'addLater']),
      tools: [add, addLater],
      policies: { retry: false },
    }),
    new Agent({ id: 'flaky', model: model(['flaky']), tools: [flaky], policies: { retry: false } }),
  ],
})
const startedTrace = async (runId: string) => {
  const [started] = await runtime.journal(runId, { limit: 1 })
  return (started?.data as { trace?: { traceparent: string } } | undefined)?.trace
}
const run = async (agentId: string, runId: string, trace?: { traceparent: string }) => {
  const handle = await runtime.spawn(agentId, 'go', { runId, stream: false, ...(trace ? { trace } : {}) })
  return { answer: await handle.result, resolved: resolved(), trace: await startedTrace(runId) }
}

const firstTime = await run('adder', 'first-time')
const registered = Symbol.for('opentelemetry.js.api.1') in globalThis
const triggered = await run('adder', 'triggered', {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
})
const retried = await run('flaky', 'retried')

// The application registers its SDK only now, after the runtime was made and the API loaded.
const { context, trace } = await import('@opentelemetry/api')
const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(
  '@opentelemetry/sdk-trace-base'
)
const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const traced = await run('flaky', 'traced')
const spans = exporter.getFinishedSpans().map((span) => ({
  name: span.name,
  events: span.events.map((event) => event.name),
}))
await runtime.shutdown()
rmSync(file, { force: true })
process.stdout.write(
  `STARTUP ${JSON.stringify({ firstTime, registered, triggered, retried, flakyCalls, traced, spans })}\n`,
)
