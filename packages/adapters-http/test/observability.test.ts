import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { Agent, asTool, createRuntime } from '@vel/actors'
import { defineTool } from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpApp } from '../src/index.ts'
import { post } from './support.ts'

const exporter = new InMemorySpanExporter()
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer(
  'http',
)

// 1M input + 100k output tokens per call at $2 / $10 per million: $3 per call.
const usage = { inputTokens: 1_000_000, outputTokens: 100_000 }
const price = { inputPerMTok: 2, outputPerMTok: 10 }

const researcher = new Agent({
  id: 'researcher',
  model: createScriptedModel({ respond: () => ({ text: 'facts', usage }) }),
  price,
  policies: { retry: false },
})
const writer = new Agent({
  id: 'writer',
  model: createScriptedModel({
    modelId: 'gpt-5.4-mini',
    provider: 'openai',
    respond: (request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: 'article', usage }
        : { toolCalls: [{ id: 'r1', name: 'research', input: { input: 'otters' } }], usage },
  }),
  tools: [asTool(researcher, { name: 'research' })],
  children: [researcher],
  policies: { retry: false, budget: { maxCostUsd: 100 } },
})

function setup() {
  const runtime = createRuntime({
    store: createMemoryStore(),
    agents: [writer],
    telemetry: { tracer },
    onError: () => undefined,
  })
  return { runtime, app: createHttpApp({ runtime }) }
}

describe('GET /runs/:runId: usage and cost', () => {
  it("shows the run's cost at its price and its pipeline tree's tokens and cost", async () => {
    const { app } = setup()
    const started = await app.request('/runs?wait=true', post({ agentId: 'writer', input: 'write' }))
    const { runId } = (await started.json()) as { runId: string }
    const run = (await (await app.request(`/runs/${runId}`)).json()) as Record<string, unknown>
    // The writer runs on gpt-5.4-mini, priced from the default table ($0.75 in / $4.50 out).
    const writerCost = 2 * (1 * 0.75 + 0.1 * 4.5)
    expect(run.usage).toMatchObject({ inputTokens: 2_000_000, outputTokens: 200_000 })
    expect(run.costUsd).toBeCloseTo(writerCost, 9)
    expect(run.price).toEqual({ inputPerMTok: 0.75, outputPerMTok: 4.5, cachedInputPerMTok: 0.075 })
    expect(run.maxCostUsd).toBe(100)
    const tree = run.tree as {
      runs: number
      usage: { inputTokens: number }
      costUsd: number
      unpricedRuns: number
    }
    expect(tree.runs).toBe(2)
    expect(tree.usage.inputTokens).toBe(3_000_000)
    expect(tree.costUsd).toBeCloseTo(writerCost + 3, 9)
    expect(tree.unpricedRuns).toBe(0)
  })
})

describe('trace context over HTTP', () => {
  it("a request's traceparent header parents the run's span", async () => {
    const { app } = setup()
    exporter.reset()
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const init = post({ agentId: 'writer', input: 'write' })
    const response = await app.request('/runs?wait=true', {
      ...init,
      headers: { ...(init.headers as Record<string, string>), traceparent },
    })
    const { runId } = (await response.json()) as { runId: string }
    const span = exporter.getFinishedSpans().find((one) => one.attributes['vel.run.id'] === runId)
    expect(span?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7')
  })
})

describe('GET /usage', () => {
  it('sums tokens and cost by agent or session, over the runs the caller may see', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [writer], onError: () => undefined })
    const app = createHttpApp({ runtime, auth: { tokens: { 'alice-token': 'alice', 'bob-token': 'bob' } } })
    const start = async (token: string, sessionId: string) => {
      const init = post({ agentId: 'writer', input: 'write', sessionId }, token)
      expect((await app.request('/runs?wait=true', init)).status).toBe(201)
    }
    await start('alice-token', 'a-1')
    await start('alice-token', 'a-2')
    await start('bob-token', 'b-1')
    const usage = async (query: string, token = 'alice-token') => {
      const response = await app.request(`/usage${query}`, { headers: { authorization: `Bearer ${token}` } })
      expect(response.status).toBe(200)
      return (await response.json()) as { runs: number; usage: { inputTokens: number }; costUsd: number }
    }
    // Alice's two writer runs and their two researcher children (a child run belongs to whoever
    // owns its root run, so Bob's writer's researcher is not hers).
    const writerCost = 2 * (1 * 0.75 + 0.1 * 4.5)
    const mine = await usage('')
    expect(mine.runs).toBe(4)
    expect(mine.costUsd).toBeCloseTo(2 * writerCost + 2 * 3, 9)
    expect((await usage('', 'bob-token')).runs).toBe(2)
    expect((await usage('?agent=writer')).runs).toBe(2)
    const session = await usage('?session=a-1')
    expect(session).toMatchObject({ runs: 1, usage: { inputTokens: 2_000_000 } })
    expect(session.costUsd).toBeCloseTo(writerCost, 9)
    expect((await usage('?agent=writer', 'bob-token')).runs).toBe(1)
    expect(
      (await app.request('/usage?session=a-1', { headers: { authorization: 'Bearer bob-token' } })).status,
    ).toBe(403)
  })
})

describe('trace context of decisions over HTTP', () => {
  const contextManager = new AsyncLocalStorageContextManager()
  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable())
  })
  afterAll(() => {
    context.disable()
  })

  it("an approval's traceparent parents the span of the run it wakes, which links to the run's first span", async () => {
    const approver = new Agent({
      id: 'approver',
      model: createScriptedModel({
        respond: (request) =>
          request.messages.at(-1)?.role === 'tool'
            ? { text: 'shipped' }
            : { toolCalls: [{ id: 's1', name: 'ship', input: {} }] },
      }),
      tools: [
        defineTool({
          name: 'ship',
          description: 'Ships.',
          input: { type: 'object' },
          handler: () => 'ok',
          needsApproval: true,
        }),
      ],
      policies: { retry: false },
    })
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [approver],
      telemetry: { tracer },
      onError: () => undefined,
    })
    const app = createHttpApp({ runtime })
    exporter.reset()
    const started = await app.request('/runs?wait=true', post({ agentId: 'approver', input: 'ship it' }))
    const { runId, status } = (await started.json()) as { runId: string; status: string }
    expect(status).toBe('waiting')
    await expect.poll(async () => (await runtime.record(runId))?.status).toBe('waiting')
    await expect.poll(() => runtime.isActive(runId)).toBe(false)
    const first = exporter.getFinishedSpans().find((span) => span.name === 'invoke_agent approver')
    expect(first?.attributes['vel.run.outcome']).toBe('paused')

    const traceparent = '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01'
    const init = post({ approved: true })
    const approved = await app.request(`/runs/${runId}/approvals/s1`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), traceparent },
    })
    expect(approved.status).toBe(200)
    expect(await runtime.handle(runId).result).toBe('shipped')
    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'invoke_agent approver')
    const resumed = spans.at(-1)
    expect(spans).toHaveLength(2)
    expect(resumed?.spanContext().traceId).toBe('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
    expect(resumed?.parentSpanContext?.spanId).toBe('bbbbbbbbbbbbbbbb')
    expect(resumed?.links.map((link) => link.context.spanId)).toEqual([first?.spanContext().spanId])
  })
})
