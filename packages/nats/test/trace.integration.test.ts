import { jetstreamManager } from '@nats-io/jetstream'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { createRuntime } from '@vel/actors'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createNatsBus,
  createNatsClient,
  createSubjects,
  createWorker,
  type NatsClient,
} from '../src/index.ts'
import { connectNats, probeNats, testAgents, uniquePrefix } from './support.ts'

const available = await probeNats()

describe.skipIf(!available)('NATS triggers carry trace context (integration)', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const contextManager = new AsyncLocalStorageContextManager()
  const prefix = uniquePrefix('trace')
  const store = createMemoryStore()
  let client: NatsClient
  let close: () => Promise<void>

  const runSpan = async (runId: string): Promise<ReadableSpan> => {
    await expect
      .poll(() => exporter.getFinishedSpans().find((span) => span.attributes['vel.run.id'] === runId), {
        timeout: 10_000,
      })
      .toBeDefined()
    return exporter.getFinishedSpans().find((span) => span.attributes['vel.run.id'] === runId) as ReadableSpan
  }

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable())
    await store.migrate()
    const workerConnection = await connectNats()
    const runtime = createRuntime({
      store,
      bus: createNatsBus({ connection: workerConnection, prefix }),
      agents: testAgents(),
      telemetry: { tracer: provider.getTracer('worker') },
      onError: () => undefined,
    })
    const worker = await createWorker({
      runtime,
      connection: workerConnection,
      prefix,
      recoverEveryMs: 0,
      jetstream: true,
    })
    const clientConnection = await connectNats()
    client = createNatsClient(clientConnection, { prefix, timeoutMs: 5000 })
    close = async () => {
      const manager = await jetstreamManager(clientConnection)
      await manager.streams.delete(createSubjects(prefix).triggerStream).catch(() => undefined)
      client.close()
      await clientConnection.close()
      await worker.close()
      await runtime.shutdown()
      await workerConnection.close()
    }
  })
  afterAll(async () => {
    await close?.()
    context.disable()
  })

  it("a trigger's traceparent header parents the run's span in the worker", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const { runId } = await client.trigger('adder', 'steps=1', {
      trace: { traceparent, tracestate: 'vendor=1' },
    })
    const span = await runSpan(runId)
    expect(span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7')
    expect(span.spanContext().traceState?.get('vendor')).toBe('1')
    expect(span.attributes['vel.run.outcome']).toBe('completed')
  })

  it('a durable (JetStream) trigger carries it too', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const { runId } = await client.trigger('adder', 'steps=1', { durable: true, trace: { traceparent } })
    const span = await runSpan(runId)
    expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331')
  })

  it("the client sends the caller's active span by default", async () => {
    const caller = provider.getTracer('caller')
    const { runId, parent } = await caller.startActiveSpan('caller', async (span) => {
      const reply = await client.trigger('adder', 'steps=1')
      span.end()
      return { runId: reply.runId, parent: span.spanContext() }
    })
    const run = await runSpan(runId)
    expect(run.spanContext().traceId).toBe(parent.traceId)
    expect(run.parentSpanContext?.spanId).toBe(parent.spanId)
    expect(trace.getActiveSpan()).toBeUndefined()
  })
})
