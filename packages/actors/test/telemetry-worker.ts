/**
 * A worker process for the telemetry crash test: with a tracing SDK registered, starts a run whose
 * tool prints its span's traceparent and then hangs (KILLPOINT), so the parent can SIGKILL it.
 */
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { defineTool } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { Agent, activeTrace, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

const { db, runId } = JSON.parse(process.argv[2] ?? '{}') as { db: string; runId: string }
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] }),
)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks up; hangs in the first process.',
  input: { type: 'object' },
  sideEffects: 'idempotent',
  handler: () => {
    process.stdout.write(`TRACEPARENT ${activeTrace()?.traceparent ?? 'none'}\nKILLPOINT\n`)
    return new Promise<never>(() => undefined)
  },
})
const agent = new Agent({
  id: 'looker',
  model: scripted((request) =>
    request.messages.at(-1)?.role === 'tool'
      ? { text: 'found' }
      : { toolCalls: [{ id: 'l1', name: 'lookup', input: {} }] },
  ),
  tools: [lookup],
  policies: { retry: false },
})
const store = createSqliteStore({ filename: db })
await store.migrate()
const runtime = createRuntime({ store, agents: [agent], leaseTtlMs: 200 })
await runtime.spawn('looker', 'look it up', { runId })
