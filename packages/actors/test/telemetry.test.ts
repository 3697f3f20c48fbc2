import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { context, type SpanContext } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { defineTool, ProviderError, type RunState } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { createSqliteStore } from '@vel/store/sqlite'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Agent, asTool, createRuntime, spanContextOf, type TelemetryOptions } from '../src/index.ts'
import { addTool, scripted } from './support.ts'

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager()

/** A runtime's telemetry options with a fresh meter (and the shared in-memory span exporter). */
function telemetry(extra: Partial<TelemetryOptions> = {}) {
  const reader = new TestReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  const options: TelemetryOptions = {
    tracer: tracerProvider.getTracer('test'),
    meter: meterProvider.getMeter('test'),
    ...extra,
  }
  /** Every data point of a metric, by name. */
  const points = async (name: string): Promise<DataPoint<unknown>[]> => {
    const { resourceMetrics } = await reader.collect()
    return resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric) => metric.dataPoints as DataPoint<unknown>[])
  }
  const sum = async (name: string) =>
    (await points(name)).reduce((total, point) => total + (point.value as number), 0)
  const count = async (name: string) =>
    (await points(name)).reduce((total, point) => total + (point.value as Histogram).count, 0)
  return { options, points, sum, count }
}

const price = { inputPerMTok: 2, outputPerMTok: 10 }
const usage = { inputTokens: 1000, outputTokens: 100 }

const approvedAdd = defineTool({
  name: 'add',
  description: 'Adds two numbers, once a human approves.',
  input: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
  handler: ({ a, b }: { a: number; b: number }) => a + b,
  needsApproval: true,
})

/** Calls `add` once, then answers; 1000 in / 100 out tokens per call. */
const adder = (options: { id?: string; needsApproval?: boolean } = {}) =>
  new Agent({
    id: options.id ?? 'adder',
    model: scripted((request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: 'the sum is 5', usage }
        : { toolCalls: [{ id: 'c1', name: 'add', input: { a: 2, b: 3 } }], usage },
    ),
    tools: [options.needsApproval ? approvedAdd : addTool],
    price,
    policies: { retry: false },
  })

const byName = (spans: ReadonlyArray<ReadableSpan>, name: string) =>
  spans.filter((span) => span.name === name)
const one = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = byName(spans, name)
  expect(found, name).toHaveLength(1)
  return found[0] as ReadableSpan
}
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId
const traceparentOf = (spanContext: SpanContext) => `00-${spanContext.traceId}-${spanContext.spanId}-01`

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
})
afterAll(() => {
  context.disable()
})
beforeEach(() => exporter.reset())

describe('traces', () => {
  it('a run is an invoke_agent span with chat and execute_tool children carrying the GenAI attributes', async () => {
    const metrics = telemetry()
    const agent = adder()
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent], telemetry: metrics.options })
    const handle = await agent.start('add 2 and 3', { sessionId: 's1' })
    expect(await handle.result).toBe('the sum is 5')
    const spans = exporter.getFinishedSpans()
    const run = one(spans, 'invoke_agent adder')
    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'adder',
      'gen_ai.conversation.id': 's1',
      'gen_ai.provider.name': 'scripted',
      'vel.run.id': handle.runId,
      'vel.run.outcome': 'completed',
      'gen_ai.usage.input_tokens': 2000,
      'gen_ai.usage.output_tokens': 200,
      'vel.run.steps': 2,
    })
    expect(run.attributes['vel.cost.usd']).toBeCloseTo((2 * (1000 * 2 + 100 * 10)) / 1e6, 12)
    const chats = byName(spans, `chat ${String(run.attributes['gen_ai.request.model'])}`)
    expect(chats).toHaveLength(2)
    for (const chat of chats) {
      expect(parentOf(chat)).toBe(run.spanContext().spanId)
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'scripted',
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 100,
      })
      // No content unless asked for.
      expect(chat.attributes['gen_ai.input.messages']).toBeUndefined()
    }
    expect(chats.map((chat) => chat.attributes['gen_ai.response.finish_reasons'])).toEqual([
      ['tool-calls'],
      ['stop'],
    ])
    const tool = one(spans, 'execute_tool add')
    expect(parentOf(tool)).toBe(run.spanContext().spanId)
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'add',
      'gen_ai.tool.call.id': 'c1',
    })
    // The run's span is journaled with its start, for later processes to link to.
    const [started] = await runtime.journal(handle.runId, { limit: 1 })
    expect((started?.data as { trace?: unknown } | undefined)?.trace).toEqual({
      traceparent: traceparentOf(run.spanContext()),
    })
  })

  it('records prompts, completions and tool arguments only when asked to', async () => {
    const agent = adder()
    createRuntime({
      store: createMemoryStore(),
      agents: [agent],
      telemetry: telemetry({ recordContent: true }).options,
    })
    await agent.run('add 2 and 3')
    const spans = exporter.getFinishedSpans()
    const [first] = spans.filter((span) => span.name.startsWith('chat '))
    expect(JSON.parse(String(first?.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', content: 'add 2 and 3' },
    ])
    expect(String(first?.attributes['gen_ai.output.messages'])).toContain('"tool-call"')
    const tool = one(spans, 'execute_tool add')
    expect(JSON.parse(String(tool.attributes['gen_ai.tool.call.arguments']))).toEqual({ a: 2, b: 3 })
    expect(tool.attributes['gen_ai.tool.call.result']).toBe('5')
  })

  it("a trigger's traceparent parents the run", async () => {
    const agent = adder()
    createRuntime({ store: createMemoryStore(), agents: [agent], telemetry: telemetry().options })
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    await agent.run('add', { trace: { traceparent } })
    const run = one(exporter.getFinishedSpans(), 'invoke_agent adder')
    expect(run.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(parentOf(run)).toBe('00f067aa0ba902b7')
  })

  it('a child run started by a tool is a child of its execute_tool span, in the same trace', async () => {
    const child = adder({ id: 'child' })
    const parent = new Agent({
      id: 'parent',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'done' }
          : { toolCalls: [{ id: 'p1', name: 'ask_child', input: { input: 'add' } }] },
      ),
      tools: [asTool(child, { name: 'ask_child' })],
      children: [child],
      policies: { retry: false },
    })
    createRuntime({ store: createMemoryStore(), agents: [parent], telemetry: telemetry().options })
    await parent.run('go')
    const spans = exporter.getFinishedSpans()
    const top = one(spans, 'invoke_agent parent')
    const tool = one(spans, 'execute_tool ask_child')
    const nested = one(spans, 'invoke_agent child')
    expect(parentOf(tool)).toBe(top.spanContext().spanId)
    expect(parentOf(nested)).toBe(tool.spanContext().spanId)
    expect(nested.spanContext().traceId).toBe(top.spanContext().traceId)
    expect(nested.attributes['vel.run.parent_id']).toBe(top.attributes['vel.run.id'])
  })

  it('a run resumed by a second runtime over the same SQLite file links to its original span', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vel-otel-'))
    try {
      const filename = join(dir, 'runs.db')
      const first = createSqliteStore({ filename })
      await first.migrate()
      const agent = adder({ needsApproval: true })
      const one_ = createRuntime({ store: first, agents: [agent], telemetry: telemetry().options })
      const handle = await one_.spawn('adder', 'add 2 and 3')
      await expect
        .poll(async () => (await first.getRun(handle.runId))?.status, { timeout: 10_000 })
        .toBe('waiting')
      await one_.shutdown()
      await first.close()
      const before = one(exporter.getFinishedSpans(), 'invoke_agent adder')
      expect(before.attributes['vel.run.outcome']).toBe('paused')
      expect(before.events.map((event) => event.name)).toContain('vel.approval.requested')
      exporter.reset()

      const second = createSqliteStore({ filename })
      const metrics = telemetry()
      const two = createRuntime({
        store: second,
        agents: [adder({ needsApproval: true })],
        telemetry: metrics.options,
      })
      await two.approve(handle.runId, 'c1', { by: 'ops' })
      expect(await two.handle(handle.runId).result).toBe('the sum is 5')
      const after = one(exporter.getFinishedSpans(), 'invoke_agent adder')
      expect(after.spanContext().spanId).not.toBe(before.spanContext().spanId)
      expect(after.attributes).toMatchObject({ 'vel.run.resumed': true, 'vel.run.outcome': 'completed' })
      expect(after.links.map((link) => link.context.spanId)).toEqual([before.spanContext().spanId])
      expect(after.links[0]?.context.traceId).toBe(before.spanContext().traceId)
      expect(after.events.find((event) => event.name === 'vel.approval.decided')?.attributes).toMatchObject({
        'gen_ai.tool.call.id': 'c1',
        'vel.approval.approved': true,
        'vel.decided_by': 'ops',
      })
      expect(parentOf(one(exporter.getFinishedSpans(), 'execute_tool add'))).toBe(after.spanContext().spanId)
      // The woken run left the waiting count it joined in the first process.
      expect(await metrics.sum('vel.runs.waiting')).toBe(-1)
      await two.shutdown()
      await second.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('retries of model and tool calls are events on their spans', async () => {
    let calls = 0
    let tries = 0
    const agent = new Agent({
      id: 'flaky',
      model: scripted((request) => {
        calls += 1
        if (calls === 1)
          return { error: new ProviderError({ reason: 'overloaded', provider: 'scripted', message: 'busy' }) }
        return request.messages.at(-1)?.role === 'tool'
          ? { text: 'ok' }
          : { toolCalls: [{ id: 'f1', name: 'fetch', input: {} }] }
      }),
      tools: [
        defineTool({
          name: 'fetch',
          description: 'Fails once.',
          input: { type: 'object' },
          sideEffects: 'idempotent',
          handler: async () => {
            tries += 1
            if (tries === 1) throw new Error('flaky network')
            return 'fetched'
          },
        }),
      ],
      policies: { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } },
    })
    createRuntime({ store: createMemoryStore(), agents: [agent], telemetry: telemetry().options })
    expect(await agent.run('go')).toBe('ok')
    const spans = exporter.getFinishedSpans()
    const [firstChat] = spans.filter((span) => span.name.startsWith('chat '))
    expect(firstChat?.events.find((event) => event.name === 'vel.retry')?.attributes).toMatchObject({
      'vel.attempt': 2,
      'error.type': 'overloaded',
    })
    expect(one(spans, 'execute_tool fetch').events.map((event) => event.name)).toEqual(['vel.retry'])
  })

  it('a run killed in one process and recovered in another links to the span it started under', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vel-otel-crash-'))
    try {
      const db = join(dir, 'runs.db')
      const runId = 'run-killed'
      const worker = fileURLToPath(new URL('./telemetry-worker.ts', import.meta.url))
      const child = spawn(
        process.execPath,
        ['--conditions=@vel/source', '--import', 'tsx', worker, JSON.stringify({ db, runId })],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let stdout = ''
      let stderr = ''
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
          if (stdout.includes('KILLPOINT')) resolve()
        })
        child.once('exit', (code) =>
          reject(new Error(`worker exited (${code}) before the kill point: ${stderr}`)),
        )
      })
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
      // The first process's tool span: same trace as the run's span there.
      const toolSpan = spanContextOf({ traceparent: /TRACEPARENT (\S+)/.exec(stdout)?.[1] ?? '' })
      expect(toolSpan).toBeDefined()

      const store = createSqliteStore({ filename: db })
      const runtime = createRuntime({
        store,
        agents: [
          new Agent({
            id: 'looker',
            model: scripted((request) =>
              request.messages.at(-1)?.role === 'tool'
                ? { text: 'found' }
                : { toolCalls: [{ id: 'l1', name: 'lookup', input: {} }] },
            ),
            tools: [
              defineTool({
                name: 'lookup',
                description: 'Looks up.',
                input: { type: 'object' },
                sideEffects: 'idempotent',
                handler: () => 'it',
              }),
            ],
            policies: { retry: false },
          }),
        ],
        leaseTtlMs: 200,
        telemetry: telemetry().options,
      })
      const [started] = await runtime.journal(runId, { limit: 1 })
      const journaled = spanContextOf(
        (started?.data as { trace?: { traceparent: string } } | undefined)?.trace,
      )
      expect(journaled?.traceId).toBe(toolSpan?.traceId)
      await expect.poll(async () => (await runtime.recover()).includes(runId), { timeout: 20_000 }).toBe(true)
      expect(await runtime.handle(runId).result).toBe('found')
      const resumed = one(exporter.getFinishedSpans(), 'invoke_agent looker')
      expect(resumed.attributes['vel.run.resumed']).toBe(true)
      expect(resumed.links.map((link) => [link.context.traceId, link.context.spanId])).toEqual([
        [journaled?.traceId, journaled?.spanId],
      ])
      expect(resumed.spanContext().traceId).not.toBe(journaled?.traceId)
      await runtime.shutdown()
      await store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a cancel is an event on the run span, and the span ends cancelled', async () => {
    const agent = adder({ needsApproval: true })
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [agent],
      telemetry: telemetry().options,
    })
    const handle = await agent.start('add')
    await expect.poll(async () => (await runtime.record(handle.runId))?.status).toBe('waiting')
    await handle.cancel('changed my mind')
    await expect(handle.result).rejects.toThrow()
    const spans = byName(exporter.getFinishedSpans(), 'invoke_agent adder')
    const last = spans.at(-1) as ReadableSpan
    expect(last.attributes['vel.run.outcome']).toBe('cancelled')
    expect(last.events.find((event) => event.name === 'vel.run.cancelled')?.attributes).toEqual({
      'vel.reason': 'changed my mind',
    })
  })
})

describe('observe', () => {
  it('hears each run this process takes up, with its trace id; one that throws does not stop the run', async () => {
    const heard: string[] = []
    const agent = adder()
    createRuntime({
      store: createMemoryStore(),
      agents: [agent],
      telemetry: {
        ...telemetry().options,
        observe: (run) => {
          heard.push(`open ${run.agentId} ${run.resumed} ${run.traceId === undefined ? '-' : 'trace'}`)
          return {
            committed: (event) => {
              heard.push(event.type)
              throw new Error('a broken listener')
            },
            closed: (how, state) => heard.push(`${how} ${state?.phase}`),
          }
        },
      },
    })
    expect(await agent.run('add')).toBe('the sum is 5')
    expect(heard).toEqual([
      'open adder false trace',
      'run.started',
      'model.responded',
      'tool.succeeded',
      'model.responded',
      'ended completed',
    ])
  })
})

describe('metrics', () => {
  it('counts runs, calls, tokens, cost and journal appends', async () => {
    const metrics = telemetry()
    const agent = adder()
    createRuntime({ store: createMemoryStore(), agents: [agent], telemetry: metrics.options })
    await agent.run('one')
    await agent.run('two')
    expect(await metrics.sum('vel.runs.started')).toBe(2)
    expect(await metrics.sum('vel.runs.completed')).toBe(2)
    expect(await metrics.sum('vel.runs.failed')).toBe(0)
    expect(await metrics.sum('vel.runs.active')).toBe(0)
    expect(await metrics.count('gen_ai.client.operation.duration')).toBe(4)
    expect(await metrics.count('gen_ai.execute_tool.duration')).toBe(2)
    const tokens = await metrics.points('gen_ai.client.token.usage')
    const tokenSum = (type: string) =>
      tokens
        .filter((point) => point.attributes['gen_ai.token.type'] === type)
        .reduce((total, point) => total + ((point.value as Histogram).sum ?? 0), 0)
    expect(tokenSum('input')).toBe(4000)
    expect(tokenSum('output')).toBe(400)
    expect(await metrics.sum('vel.cost')).toBeCloseTo((4 * (1000 * 2 + 100 * 10)) / 1e6, 12)
    // run.started, then the tool call with its result (one append, ADR 0125), then the answer:
    // three appends per run, one sample each.
    expect(await metrics.count('vel.store.append.duration')).toBe(6)
  })

  it('counts a failed run', async () => {
    const metrics = telemetry()
    const agent = new Agent({
      id: 'broke',
      model: scripted(() => ({ text: 'x', usage: { inputTokens: 10, outputTokens: 10 } })),
      policies: { retry: false, budget: { maxTokens: 5 } },
    })
    createRuntime({ store: createMemoryStore(), agents: [agent], telemetry: metrics.options })
    await expect(agent.run('go')).rejects.toThrow()
    expect(await metrics.sum('vel.runs.failed')).toBe(1)
    const run = one(exporter.getFinishedSpans(), 'invoke_agent broke')
    expect(run.attributes['error.type']).toBe('budget-exceeded')
    expect(run.status.code).toBe(2)
  })
})

describe('maxCostUsd', () => {
  it('ends the run gracefully once the cost reaches the budget: the tool is not run', async () => {
    let ran = 0
    const agent = new Agent({
      id: 'spender',
      model: scripted(() => ({
        text: 'partial',
        toolCalls: [{ id: 'c1', name: 'count', input: {} }],
        usage,
      })),
      tools: [
        defineTool({
          name: 'count',
          description: 'Counts.',
          input: { type: 'object' },
          handler: () => ++ran,
        }),
      ],
      price,
      // One call costs $0.003: the second response reaches the budget.
      policies: { retry: false, budget: { maxCostUsd: 0.005 } },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await agent.start('spend')
    expect(await handle.result).toBe('partial')
    expect(ran).toBe(1)
    const { state }: { state: RunState } = await runtime.get(handle.runId)
    expect(state.phase).toBe('completed')
    expect(state.finishReason).toBe('length')
    expect(state.policy.price).toEqual(price)
  })

  it('takes the price from the runtime table by provider and model id', async () => {
    const agent = new Agent({
      id: 'priced',
      model: scripted(() => ({ text: 'ok', usage })),
      policies: { retry: false, budget: { maxCostUsd: 1 } },
    })
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [agent],
      prices: { 'scripted:scripted': { inputPerMTok: 1, outputPerMTok: 1 } },
    })
    const handle = await agent.start('hi')
    await handle.result
    expect((await runtime.get(handle.runId)).state.policy.price).toEqual({
      inputPerMTok: 1,
      outputPerMTok: 1,
    })
  })

  it('refuses to start a run whose budget it cannot measure', async () => {
    const agent = new Agent({
      id: 'unpriced',
      model: scripted(() => ({ text: 'ok' })),
      policies: { retry: false, budget: { maxCostUsd: 1 } },
    })
    const store = createMemoryStore()
    createRuntime({ store, agents: [agent] })
    await expect(agent.start('hi')).rejects.toMatchObject({ reason: 'invalid-state' })
    expect((await store.listRuns()).items).toHaveLength(0)
  })
})
