import { assertWellFormedStream, parsePosition, type RunEvent, type StreamPart } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { assemble, parseSse, partsOf, post, setup, transfers } from './support.ts'

const auth = { tokens: { 'alice-token': 'alice', 'bob-token': { id: 'bob', role: 'ops' } } }
const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

const textOf = (parts: ReadonlyArray<StreamPart>) =>
  parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')

/** Waits until the run's status (as the API reports it) is `status`. */
async function until(
  app: ReturnType<typeof setup>['app'],
  runId: string,
  status: string,
  token = 'alice-token',
) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const run = (await (await app.request(`/runs/${runId}`, as(token))).json()) as { status: string }
    if (run.status === status) return run
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`run ${runId} never became ${status}`)
}

describe('POST /runs', () => {
  it('starts a run from the Python Vel body and waits for its answer', async () => {
    const { app } = setup()
    const response = await app.request(
      '/runs?wait=true',
      post({ agent_id: 'echo', input: { message: 'hello' }, session_id: 'py-1' }),
    )
    expect(response.status).toBe(201)
    const body = (await response.json()) as { runId: string; status: string; answer: string }
    expect(body).toEqual({ runId: body.runId, status: 'completed', answer: 'You said: hello (turn 1)' })
    expect(response.headers.get('location')).toBe(`/runs/${body.runId}`)
    const run = (await (await app.request(`/runs/${body.runId}`)).json()) as Record<string, unknown>
    expect(run).toMatchObject({ status: 'completed', sessionId: 'py-1', agentId: 'echo', phase: 'completed' })
    expect(run.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 })
  })

  it('accepts the camelCase body, answers at once without wait, and continues the session', async () => {
    const { app } = setup()
    await app.request('/runs?wait=true', post({ agentId: 'echo', input: 'one', sessionId: 'cc' }))
    const response = await app.request('/runs', post({ agentId: 'echo', input: 'two', sessionId: 'cc' }))
    const { runId, status } = (await response.json()) as { runId: string; status: string }
    expect(status).toBe('running')
    const run = (await until(app, runId, 'completed', '')) as unknown as { answer: string }
    expect(run.answer).toBe('You said: two (turn 2)')
  })

  it('records the starter in run metadata', async () => {
    const { app } = setup({ auth })
    const response = await app.request('/runs?wait=true', {
      ...post({ agentId: 'echo', input: 'hi' }, 'alice-token'),
    })
    const { runId } = (await response.json()) as { runId: string }
    const run = (await (await app.request(`/runs/${runId}`, as('alice-token'))).json()) as {
      startedBy: string
    }
    expect(run.startedBy).toBe('alice')
  })

  it('stops waiting when the run pauses for a human and reports the pending approval', async () => {
    const { app } = setup()
    const response = await app.request('/runs?wait=true', post({ agentId: 'banker', input: 'transfer 10' }))
    const { runId, status } = (await response.json()) as { runId: string; status: string }
    expect(status).toBe('waiting')
    const run = (await (await app.request(`/runs/${runId}`)).json()) as { pending: unknown[] }
    expect(run.pending).toEqual([
      expect.objectContaining({
        requestId: 'call-1',
        kind: 'approval',
        toolName: 'transfer',
        input: { amount: 10 },
      }),
    ])
  })
})

describe('POST /runs/stream', () => {
  it('streams the run as a UI message stream and ends it cleanly at an approval', async () => {
    const { app } = setup()
    const response = await app.request('/runs/stream', post({ agentId: 'banker', input: 'transfer 10' }))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    const events = parseSse(await response.text())
    const parts = partsOf(events)
    assertWellFormedStream(parts)
    // Tool input streams live (deltas), then the journaled call and its approval request.
    expect(parts.map((part) => part.type)).toEqual([
      'start',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'tool-approval-request',
      'finish-step',
      'finish',
    ])
    // Every part but the closing frame of the pause carries its durable position as its id.
    const framed = events.filter((event) => event.data !== '[DONE]')
    expect(framed.slice(0, -2).every((event) => parsePosition(event.id ?? '') !== undefined)).toBe(true)
    expect(framed.slice(-2).map((event) => event.id)).toEqual([undefined, undefined])
    expect(response.headers.get('x-vel-run-id')).toBe((parts[0] as { messageId: string }).messageId)
  })
})

describe('approvals, answers and cancel', () => {
  it('approves a tool call, records who approved it, and the run completes', async () => {
    const { app, runtime } = setup({ auth })
    const started = await app.request(
      '/runs?wait=true',
      post({ agentId: 'banker', input: 'transfer' }, 'alice-token'),
    )
    const { runId } = (await started.json()) as { runId: string }
    const before = transfers.length
    const decided = await app.request(
      `/runs/${runId}/approvals/call-1`,
      post({ approved: true, reason: 'looks fine' }, 'alice-token'),
    )
    expect(decided.status).toBe(200)
    const run = (await until(app, runId, 'completed')) as unknown as { answer: string }
    expect(run.answer).toBe('Done: {"transferred":10}')
    expect(transfers.length).toBe(before + 1)
    const decision = (await runtime.journal(runId))
      .map((entry) => entry.data as unknown as RunEvent)
      .find((event) => event.type === 'approval.decided')
    expect(decision).toMatchObject({
      toolCallId: 'call-1',
      approved: true,
      by: 'alice',
      reason: 'looks fine',
    })
  })

  it('denies a tool call: the tool never runs and the stream shows the denial', async () => {
    const { app } = setup()
    const started = await app.request('/runs?wait=true', post({ agentId: 'banker', input: 'transfer' }))
    const { runId } = (await started.json()) as { runId: string }
    const before = transfers.length
    const denied = await app.request(
      `/runs/${runId}/approvals/call-1`,
      post({ approved: false, reason: 'no' }),
    )
    expect(denied.status).toBe(200)
    const run = (await until(app, runId, 'completed', '')) as unknown as { answer: string }
    expect(run.answer).toMatch(/^Failed: Denied by a human: no/)
    expect(transfers.length).toBe(before)
    const parts = partsOf(parseSse(await (await app.request(`/runs/${runId}/stream`)).text()))
    assertWellFormedStream(parts)
    expect(parts).toContainEqual({ type: 'tool-output-denied', toolCallId: 'call-1' })
  })

  it('answers a question a run asked', async () => {
    const { app } = setup()
    const started = await app.request('/runs?wait=true', post({ agentId: 'asker', input: 'pay the bill' }))
    const { runId, status } = (await started.json()) as { runId: string; status: string }
    expect(status).toBe('waiting')
    const answered = await app.request(`/runs/${runId}/answers/ask-1`, post({ answer: 'savings' }))
    expect(answered.status).toBe(200)
    const run = (await until(app, runId, 'completed', '')) as unknown as { answer: string }
    expect(run.answer).toBe('Using savings')
  })

  it('cancels a waiting run; a second cancel is a conflict', async () => {
    const { app } = setup()
    const started = await app.request('/runs?wait=true', post({ agentId: 'banker', input: 'transfer' }))
    const { runId } = (await started.json()) as { runId: string }
    const cancelled = await app.request(`/runs/${runId}/cancel`, post({ reason: 'changed my mind' }))
    expect(await cancelled.json()).toEqual({ runId, status: 'cancelled' })
    const parts = partsOf(parseSse(await (await app.request(`/runs/${runId}/stream`)).text()))
    assertWellFormedStream(parts)
    expect(parts.slice(-2)).toEqual([
      { type: 'abort', reason: 'changed my mind' },
      { type: 'finish', finishReason: 'other' },
    ])
    const again = await app.request(`/runs/${runId}/cancel`, { method: 'POST' })
    expect(again.status).toBe(409)
  })
})

describe('GET /runs', () => {
  it('filters by agent, session and status, and pages with a cursor', async () => {
    const { app } = setup()
    for (const message of ['a', 'b', 'c'])
      await app.request('/runs?wait=true', post({ agentId: 'echo', input: message, sessionId: 'list-1' }))
    await app.request('/runs?wait=true', post({ agentId: 'echo', input: 'd', sessionId: 'list-2' }))
    await app.request('/runs?wait=true', post({ agentId: 'banker', input: 'transfer', sessionId: 'list-1' }))

    type Page = {
      items: Array<{ agentId: string; sessionId: string; status: string; answer?: string }>
      nextCursor?: string
    }
    const first = (await (await app.request('/runs?agent=echo&session=list-1&limit=2')).json()) as Page
    expect(first.items.map((run) => run.answer)).toEqual(['You said: c (turn 3)', 'You said: b (turn 2)'])
    expect(first.nextCursor).toBeTypeOf('string')
    const second = (await (
      await app.request(
        `/runs?agent=echo&session=list-1&limit=2&cursor=${encodeURIComponent(first.nextCursor ?? '')}`,
      )
    ).json()) as Page
    expect(second.items.map((run) => run.answer)).toEqual(['You said: a (turn 1)'])
    expect(second.nextCursor).toBeUndefined()

    const waiting = (await (await app.request('/runs?status=waiting')).json()) as Page
    expect(waiting.items.map((run) => [run.agentId, run.status])).toEqual([['banker', 'waiting']])
  })
})

describe('GET /runs/:runId/stream', () => {
  it('replays a finished run from the journal with the same parts the live stream had', async () => {
    const { app } = setup()
    const live = partsOf(
      parseSse(
        await (await app.request('/runs/stream', post({ agentId: 'banker', input: 'balance' }))).text(),
      ),
    )
    const runId = (live[0] as { messageId: string }).messageId
    const replay = parseSse(await (await app.request(`/runs/${runId}/stream`)).text())
    // The replay has each text block whole where the live stream had deltas: the same message.
    assertWellFormedStream(partsOf(replay))
    expect((await assemble(partsOf(replay))).parts).toEqual((await assemble(live)).parts)
    expect(textOf(live)).toBe('Done: {"balance":100}')
    expect(textOf(partsOf(replay))).toBe('Done: {"balance":100}')
    // Last-Event-ID skips exactly what the client had.
    const third = replay[2]?.id ?? ''
    const rest = parseSse(
      await (await app.request(`/runs/${runId}/stream`, { headers: { 'last-event-id': third } })).text(),
    )
    expect(partsOf(rest)).toEqual(partsOf(replay).slice(3))
  })
})

describe('system routes', () => {
  it('answers /healthz and /openapi.json without credentials', async () => {
    const { app } = setup({ auth })
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' })
    const document = (await (await app.request('/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, unknown>
      components: { schemas: Record<string, { required?: string[] }> }
    }
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/runs',
        '/runs/{runId}/stream',
        '/agents/{agentId}/chat',
        '/runs/{runId}/cancel',
      ]),
    )
    expect(document.components.schemas.StartRunSnake?.required).toEqual(['agent_id', 'input'])
    expect(document.components.schemas.ApprovalDecision?.required).toEqual(['approved'])
  })
})
