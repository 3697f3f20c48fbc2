import { RunError, StoreError, TransportError } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { problemOf, statusOf } from '../src/index.ts'
import { post, setup } from './support.ts'

const auth = { tokens: { 'alice-token': 'alice', 'bob-token': 'bob' } }

type Problem = {
  type: string
  title: string
  status: number
  detail: string
  field?: string
  errors?: Array<{ field: string }>
}
const problem = async (response: Response): Promise<Problem> => {
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const body = (await response.json()) as Problem
  expect(body.status).toBe(response.status)
  return body
}

describe('400: validation names the field', () => {
  it.each([
    ['POST /runs snake', '/runs', { agent_id: 'echo', input: { text: 'x' } }, 'input.message'],
    ['POST /runs camel', '/runs', { agentId: 7, input: 'x' }, 'agentId'],
    ['POST /runs empty agent', '/runs', { agent_id: '', input: 'x' }, 'agent_id'],
    ['POST /runs/stream', '/runs/stream', { agentId: 'echo' }, 'input'],
    ['chat without id', '/agents/echo/chat', { messages: [] }, 'id'],
    [
      'chat bad role',
      '/agents/echo/chat',
      { id: 'c', messages: [{ id: 'm', role: 'robot', parts: [] }] },
      'messages.0.role',
    ],
    [
      'chat no text',
      '/agents/echo/chat',
      { id: 'c', messages: [{ id: 'm', role: 'user', parts: [] }] },
      'messages.0.parts',
    ],
  ])('%s', async (_name, path, body, field) => {
    const { app } = setup()
    const response = await app.request(path, post(body))
    expect(response.status).toBe(400)
    const details = await problem(response)
    expect([details.field, ...(details.errors ?? []).map((error) => error.field)]).toContain(field)
    expect(details.detail).toContain(details.field)
  })

  it('names the field of approval and answer bodies', async () => {
    const { app } = setup()
    const { runId } = (await (
      await app.request('/runs?wait=true', post({ agentId: 'banker', input: 'transfer' }))
    ).json()) as { runId: string }
    const approval = await app.request(`/runs/${runId}/approvals/call-1`, post({ approved: 'yes' }))
    expect(approval.status).toBe(400)
    expect((await problem(approval)).field).toBe('approved')
    const answer = await app.request(`/runs/${runId}/answers/call-1`, post({ reply: 'x' }))
    expect((await problem(answer)).field).toBe('answer')
  })

  it('rejects a body that is not JSON, bad query parameters and a bad Last-Event-ID', async () => {
    const { app } = setup()
    const notJson = await app.request('/runs', { method: 'POST', body: '{"agentId":' })
    expect(notJson.status).toBe(400)
    expect((await problem(notJson)).type).toBe('urn:vel:problem:malformed-payload')
    const limit = await app.request('/runs?limit=abc')
    expect((await problem(limit)).field).toBe('limit')
    const status = await app.request('/runs?status=sleeping')
    expect((await problem(status)).field).toBe('status')
    const { runId } = (await (
      await app.request('/runs?wait=true', post({ agentId: 'echo', input: 'x' }))
    ).json()) as { runId: string }
    const lastId = await app.request(`/runs/${runId}/stream`, { headers: { 'last-event-id': 'yesterday' } })
    expect((await problem(lastId)).field).toBe('Last-Event-ID')
  })
})

describe('401 and 403', () => {
  it('asks for credentials on every route but /healthz and /openapi.json', async () => {
    const { app } = setup({ auth })
    for (const [path, init] of [
      ['/runs', undefined],
      ['/runs/x', undefined],
      ['/runs', post({ agentId: 'echo', input: 'x' })],
      ['/agents/echo/chat', post({ id: 'c', messages: [] }, 'wrong-token')],
    ] as const) {
      const response = await app.request(path, init)
      expect(response.status, path).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('Bearer')
      await problem(response)
    }
    expect((await app.request('/healthz')).status).toBe(200)
  })

  it('keeps a run to its starter: others get 403 and do not see it listed', async () => {
    const { app } = setup({ auth })
    const started = await app.request(
      '/runs?wait=true',
      post({ agentId: 'banker', input: 'transfer' }, 'alice-token'),
    )
    const { runId } = (await started.json()) as { runId: string }
    const bob = { headers: { authorization: 'Bearer bob-token' } }
    expect((await app.request(`/runs/${runId}`, bob)).status).toBe(403)
    expect((await app.request(`/runs/${runId}/stream`, bob)).status).toBe(403)
    const approval = await app.request(
      `/runs/${runId}/approvals/call-1`,
      post({ approved: true }, 'bob-token'),
    )
    expect(approval.status).toBe(403)
    expect((await problem(approval)).type).toBe('urn:vel:problem:forbidden')
    const listed = (await (await app.request('/runs', bob)).json()) as { items: unknown[] }
    expect(listed.items).toEqual([])
    const mine = (await (
      await app.request('/runs', { headers: { authorization: 'Bearer alice-token' } })
    ).json()) as { items: Array<{ runId: string }> }
    expect(mine.items.map((run) => run.runId)).toEqual([runId])
  })

  it('uses a custom verifier and access rule', async () => {
    const { app } = setup({
      auth: {
        verify: (request) => request.headers.get('x-user') ?? undefined,
        canAccess: (principal) => principal.id === 'admin',
      },
    })
    const started = await app.request('/runs?wait=true', {
      ...post({ agentId: 'echo', input: 'x' }),
      headers: { 'x-user': 'carol' },
    })
    const { runId } = (await started.json()) as { runId: string }
    expect((await app.request(`/runs/${runId}`, { headers: { 'x-user': 'carol' } })).status).toBe(403)
    expect((await app.request(`/runs/${runId}`, { headers: { 'x-user': 'admin' } })).status).toBe(200)
    expect((await app.request(`/runs/${runId}`)).status).toBe(401)
  })
})

describe('404, 409 and 413', () => {
  it('answers 404 for an unknown agent, run or route', async () => {
    const { app } = setup()
    const agent = await app.request('/runs', post({ agentId: 'nobody', input: 'x' }))
    expect(agent.status).toBe(404)
    expect((await problem(agent)).detail).toContain('nobody')
    expect(
      (
        await app.request(
          '/agents/nobody/chat',
          post({ id: 'c', messages: [{ id: 'm', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] }),
        )
      ).status,
    ).toBe(404)
    expect((await app.request('/runs/missing')).status).toBe(404)
    expect((await app.request('/runs/missing/stream')).status).toBe(404)
    expect((await app.request('/runs/missing/cancel', { method: 'POST' })).status).toBe(404)
    expect((await app.request('/nowhere')).status).toBe(404)
  })

  it('answers 409 for a decision the run is not waiting for', async () => {
    const { app } = setup()
    const { runId } = (await (
      await app.request('/runs?wait=true', post({ agentId: 'echo', input: 'x' }))
    ).json()) as { runId: string }
    const response = await app.request(`/runs/${runId}/approvals/call-1`, post({ approved: true }))
    expect(response.status).toBe(409)
    expect((await problem(response)).type).toBe('urn:vel:problem:invalid-state')
  })

  it('answers 409 session-busy for a second run of a session whose run is unfinished', async () => {
    const { app, runtime } = setup()
    const first = await app.request('/runs', post({ agentId: 'stepper', input: 'go', sessionId: 'busy-1' }))
    expect(first.status).toBe(201)
    for (const path of ['/runs', '/runs/stream']) {
      const second = await app.request(path, post({ agentId: 'echo', input: 'x', sessionId: 'busy-1' }))
      expect(second.status, path).toBe(409)
      expect((await problem(second)).type).toBe('urn:vel:problem:session-busy')
    }
    const chat = await app.request(
      '/agents/echo/chat',
      post({ id: 'busy-1', messages: [{ id: 'm', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] }),
    )
    expect(chat.status).toBe(409)
    expect((await problem(chat)).type).toBe('urn:vel:problem:session-busy')
    await runtime.shutdown({ graceMs: 0 })
  })

  it('answers 413 above the body limit, by declared length and by bytes read', async () => {
    const { app } = setup({ limits: { maxBodyBytes: 64 } })
    const big = JSON.stringify({ agentId: 'echo', input: 'x'.repeat(100) })
    const undeclared = await app.request('/runs', { method: 'POST', body: big })
    expect(undeclared.status).toBe(413)
    expect((await problem(undeclared)).type).toBe('urn:vel:problem:payload-too-large')
    const declared = await app.request('/runs', {
      method: 'POST',
      headers: { 'content-length': '100000' },
      body: JSON.stringify({ agentId: 'echo', input: 'x' }),
    })
    expect(declared.status).toBe(413)
    const small = await app.request('/runs', post({ agentId: 'echo', input: 'x' }))
    expect(small.status).toBe(201)
  })
})

describe('the one status mapping', () => {
  it('maps tags and reasons to statuses and hides internal errors', () => {
    expect(statusOf(new RunError('not-found', 'x'))).toBe(404)
    expect(statusOf(new RunError('invalid-state', 'x'))).toBe(409)
    expect(statusOf(new RunError('session-busy', 'x'))).toBe(409)
    expect(statusOf(new RunError('corrupted', 'x'))).toBe(409)
    expect(statusOf(new TransportError('unauthorized', 'x'))).toBe(401)
    expect(statusOf(new TransportError('forbidden', 'x'))).toBe(403)
    expect(statusOf(new TransportError('payload-too-large', 'x'))).toBe(413)
    expect(statusOf(new TransportError('malformed-payload', 'x'))).toBe(400)
    expect(statusOf(new StoreError('conflict', 'x'))).toBe(409)
    expect(statusOf(new Error('boom'))).toBe(500)
    expect(problemOf(new Error('secret stack detail')).detail).not.toContain('secret')
  })
})
