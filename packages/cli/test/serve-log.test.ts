import { createRuntime } from '@vel/actors'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { createServeLog, loggingFetch, RunDirectory, runLog } from '../src/serve-log.ts'
import agents from './fixtures/agents.ts'
import priced from './fixtures/priced-agents.ts'

const fixtures = [...agents, ...priced]

const at = () => new Date('2026-12-01T12:34:56.789Z')

interface Line {
  readonly event: string
  readonly level: string
  readonly runId?: string
  readonly sessionId?: string
  readonly traceId?: string
  readonly [field: string]: unknown
}

describe("vel serve's log", () => {
  it('writes one human line, or one pino JSON line, per event, with its level', () => {
    const lines: string[] = []
    createServeLog((line) => lines.push(line), { json: false, now: at }).info('request', {
      method: 'POST',
      path: '/runs',
      status: 201,
      note: 'two words',
      absent: undefined,
    })
    createServeLog((line) => lines.push(line), { json: false, now: at })
      .child({ runId: 'r1' })
      .warn('tool.failed', { reason: 'timeout' })
    createServeLog((line) => lines.push(line), { json: true, now: at }).error('run.failed', { runId: 'r1' })
    expect(lines).toEqual([
      '12:34:56.789 request method=POST path=/runs status=201 note="two words"\n',
      '12:34:56.789 WARN tool.failed runId=r1 reason=timeout\n',
      '{"level":"error","time":"2026-12-01T12:34:56.789Z","runId":"r1","event":"run.failed"}\n',
    ])
  })

  it("logs a run's lifecycle through a pause for approval, each line with its run, session and trace ids", async () => {
    const lines: Line[] = []
    const log = createServeLog((line) => lines.push(JSON.parse(line)), { json: true })
    const store = createMemoryStore()
    await store.migrate()
    const runtime = createRuntime({ store, agents: fixtures, telemetry: { observe: runLog(log) } })
    try {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      const handle = await runtime.spawn('booker', 'book Lisbon', {
        sessionId: 'chat-1',
        trace: { traceparent },
      })
      await expect.poll(() => lines.some((line) => line.event === 'run.waiting')).toBe(true)
      await expect.poll(async () => (await store.getRun(handle.runId))?.status).toBe('waiting')
      await runtime.approve(handle.runId, 'call_book', { by: 'ops' })
      await expect.poll(() => lines.some((line) => line.event === 'run.completed')).toBe(true)
      expect(lines.map((line) => [line.level, line.event])).toEqual([
        ['info', 'run.started'],
        ['info', 'run.waiting'],
        ['info', 'run.resumed'],
        ['info', 'approval.decided'],
        ['info', 'run.completed'],
      ])
      for (const line of lines) expect(line).toMatchObject({ runId: handle.runId, sessionId: 'chat-1' })
      // No tracing SDK here: the trace id is the trigger's (the run's span only carries it along).
      expect(lines[0]?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
      expect(lines[1]).toMatchObject({ kind: 'approval', requestId: 'call_book', tool: 'book' })
      expect(lines[3]).toMatchObject({ approved: true, by: 'ops' })
      expect(lines[4]).toMatchObject({ steps: 2, inputTokens: 2, outputTokens: 2 })
    } finally {
      await runtime.shutdown()
    }
  })

  it('logs the cost of a priced run and a failed run at level error', async () => {
    const lines: Line[] = []
    const log = createServeLog((line) => lines.push(JSON.parse(line)), { json: true })
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: fixtures,
      telemetry: { observe: runLog(log) },
    })
    try {
      await (await runtime.spawn('priced', 'hello')).result
      expect(lines.find((line) => line.event === 'run.completed')).toMatchObject({ costUsd: 0.003 })
      const handle = await runtime.spawn('booker', 'book Lisbon')
      await expect.poll(async () => (await runtime.record(handle.runId))?.status).toBe('waiting')
      await runtime.cancel(handle.runId, 'no')
      await expect.poll(() => lines.some((line) => line.event === 'run.cancelled')).toBe(true)
    } finally {
      await runtime.shutdown()
    }
  })

  it("a request line names the run it concerns, that run's session and the request's trace", async () => {
    const lines: Line[] = []
    const log = createServeLog((line) => lines.push(JSON.parse(line)), { json: true })
    const directory = new RunDirectory()
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: fixtures,
      telemetry: { observe: runLog(log, directory) },
    })
    try {
      const handle = await runtime.spawn('echo', 'hi', { sessionId: 's-9' })
      await handle.result
      const fetch = loggingFetch(() => new Response('{}', { status: 200 }), log, directory)
      await fetch(
        new Request(`http://localhost/runs/${handle.runId}`, {
          headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        }),
      )
      expect(lines.find((line) => line.event === 'request')).toMatchObject({
        method: 'GET',
        status: 200,
        runId: handle.runId,
        sessionId: 's-9',
        traceId: '0af7651916cd43dd8448eb211c80319c',
      })
    } finally {
      await runtime.shutdown()
    }
  })
})
