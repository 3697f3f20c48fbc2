/**
 * A worker process for the telemetry loading test, in a process of its own so that nothing is
 * registered with the OpenTelemetry API when it starts: runs a run with nothing registered, one
 * with a trigger's traceparent, then registers a tracing SDK (after the runtime was made) and runs
 * a third; prints what the API's loading and the spans were at each point (LAZY <json>).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Every resolution of `@opentelemetry/api` from here on is written to this file.
const resolutions = join(tmpdir(), `vel-otel-resolutions-${process.pid}`)
register(new URL('./resolve-recorder.mjs', import.meta.url), { data: { file: resolutions } })
const resolved = () =>
  existsSync(resolutions) ? readFileSync(resolutions, 'utf8').trim().split('\n').length : 0

const { createMemoryStore } = await import('@vel/store')
const { Agent, createRuntime } = await import('../src/index.ts')
const { addTool, scripted } = await import('./support.ts')

const registry = Symbol.for('opentelemetry.js.api.1')
const agent = new Agent({
  id: 'adder',
  model: scripted((request) =>
    request.messages.at(-1)?.role === 'tool'
      ? { text: 'done' }
      : { toolCalls: [{ id: 'c1', name: 'add', input: { a: 2, b: 3 } }] },
  ),
  tools: [addTool],
  policies: { retry: false },
})
const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
const startedTrace = async (runId: string) => {
  const [started] = await runtime.journal(runId, { limit: 1 })
  return (started?.data as { trace?: { traceparent: string } } | undefined)?.trace
}

const quiet = await runtime.spawn('adder', 'add', { runId: 'quiet', stream: false })
const quietAnswer = await quiet.result
const afterQuiet = {
  resolved: resolved(),
  registered: registry in globalThis,
  trace: await startedTrace('quiet'),
}

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const triggered = await runtime.spawn('adder', 'add', {
  runId: 'triggered',
  stream: false,
  trace: { traceparent },
})
await triggered.result
const afterTriggered = { resolved: resolved() > 0, trace: await startedTrace('triggered') }

// The application registers its SDK only now, after the runtime was made and the API loaded.
const { trace } = await import('@opentelemetry/api')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(
  '@opentelemetry/sdk-trace-base'
)
const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
)
const traced = await runtime.spawn('adder', 'add', { runId: 'traced', stream: false })
await traced.result
const spans = exporter.getFinishedSpans().map((span) => span.name)
const tracedTrace = await startedTrace('traced')
await runtime.shutdown()
rmSync(resolutions, { force: true })
process.stdout.write(
  `LAZY ${JSON.stringify({ quietAnswer, afterQuiet, afterTriggered, spans, tracedTrace })}\n`,
)
