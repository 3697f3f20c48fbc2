import { describe, expect, it } from 'vitest'
import { parseSse, partsOf, post, setup } from './support.ts'

/*
 * Chats (sessions) and runs belong to the principal that started them: another principal gets 403
 * on every route that would read or extend them, and never gets the owner's conversation.
 */

const auth = { tokens: { 'alice-token': 'alice', 'bob-token': 'bob' } }
const as = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })
const chat = (id: string, text: string) => ({
  id,
  messages: [{ id: `m-${text}`, role: 'user', parts: [{ type: 'text', text }] }],
})
const textOf = async (response: Response) =>
  partsOf(parseSse(await response.text()))
    .flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []))
    .join('')

describe('a chat belongs to the principal that started it', () => {
  it("refuses another principal's finished chat id, on chat, resume and session listing", async () => {
    const { app, runtime } = setup({ auth })
    const first = await app.request(
      '/agents/echo/chat',
      post(chat('alice-chat', 'my secret is 42'), 'alice-token'),
    )
    expect(first.status).toBe(200)
    expect(await textOf(first)).toContain('(turn 1)')

    const bob = await app.request(
      '/agents/echo/chat',
      post(chat('alice-chat', 'what did I say?'), 'bob-token'),
    )
    expect(bob.status).toBe(403)
    expect(((await bob.json()) as { type: string }).type).toBe('urn:vel:problem:forbidden')
    expect((await app.request('/agents/echo/chat/alice-chat/stream', as('bob-token'))).status).toBe(403)
    expect((await app.request('/runs?session=alice-chat', as('bob-token'))).status).toBe(403)
    for (const path of ['/runs', '/runs/stream'])
      expect(
        (await app.request(path, post({ agentId: 'echo', input: 'x', sessionId: 'alice-chat' }, 'bob-token')))
          .status,
        path,
      ).toBe(403)

    // Bob's attempts started no run and left the conversation as Alice left it.
    const runs = await runtime.store.listRuns({ sessionId: 'alice-chat' })
    expect(runs.items.map((run) => run.metadata.startedBy)).toEqual(['alice'])
    expect((await runtime.store.getSession('alice-chat'))?.messages).toHaveLength(2)

    // Alice goes on with her chat.
    const again = await app.request('/agents/echo/chat', post(chat('alice-chat', 'and now?'), 'alice-token'))
    expect(again.status).toBe(200)
    expect(await textOf(again)).toContain('(turn 2)')
    expect((await app.request('/runs?session=alice-chat', as('alice-token'))).status).toBe(200)
    expect((await app.request('/agents/echo/chat/alice-chat/stream', as('alice-token'))).status).toBe(204)
  })

  it("refuses another principal's waiting chat and its run routes", async () => {
    const { app } = setup({ auth })
    const started = await app.request(
      '/agents/banker/chat',
      post(chat('alice-bank', 'transfer'), 'alice-token'),
    )
    expect(started.status).toBe(200)
    const runId = started.headers.get('x-vel-run-id') as string
    await started.text()

    expect(
      (await app.request('/agents/banker/chat', post(chat('alice-bank', 'hi'), 'bob-token'))).status,
    ).toBe(403)
    const approval = {
      id: 'alice-bank',
      messages: [
        {
          id: 'a1',
          role: 'assistant',
          parts: [
            {
              type: 'tool-transfer',
              toolCallId: 'call-1',
              state: 'approval-responded',
              approval: { id: 'call-1', approved: true },
            },
          ],
        },
      ],
    }
    expect((await app.request('/agents/banker/chat', post(approval, 'bob-token'))).status).toBe(403)
    for (const [path, init] of [
      [`/runs/${runId}`, as('bob-token')],
      [`/runs/${runId}/stream`, as('bob-token')],
      [`/runs/${runId}/approvals/call-1`, post({ approved: true }, 'bob-token')],
      [`/runs/${runId}/answers/call-1`, post({ answer: 'x' }, 'bob-token')],
      [`/runs/${runId}/cancel`, post({}, 'bob-token')],
    ] as const)
      expect((await app.request(path, init)).status, path).toBe(403)
    expect((await app.request(`/runs/${runId}`, as('alice-token'))).status).toBe(200)
  })

  it("refuses another principal a child run of the owner's run, on its routes and in listings", async () => {
    const { app, runtime } = setup({ auth })
    const started = await app.request('/runs', post({ agentId: 'echo', input: 'parent' }, 'alice-token'))
    expect(started.status).toBe(201)
    const { runId: parentId } = (await started.json()) as { runId: string }
    // A child (a pipeline stage, an agent called as a tool) is started by the parent's run, not
    // over HTTP: it has no starter of its own, and belongs to whoever owns its root.
    const child = await runtime.spawn('echo', 'child', { parentRunId: parentId })
    const grandchild = await runtime.spawn('echo', 'grandchild', { parentRunId: child.runId })
    await Promise.all([child.result, grandchild.result])
    for (const runId of [child.runId, grandchild.runId]) {
      expect((await app.request(`/runs/${runId}`, as('bob-token'))).status, runId).toBe(403)
      expect((await app.request(`/runs/${runId}/stream`, as('bob-token'))).status, runId).toBe(403)
      expect((await app.request(`/runs/${runId}`, as('alice-token'))).status, runId).toBe(200)
    }
    const listed = async (token: string) =>
      (
        (await (await app.request('/runs', as(token))).json()) as { items: Array<{ runId: string }> }
      ).items.map((item) => item.runId)
    expect(await listed('bob-token')).toEqual([])
    expect((await listed('alice-token')).sort()).toEqual([parentId, child.runId, grandchild.runId].sort())
    // A run whose parent is gone from the index is refused rather than open to all.
    const orphan = await runtime.spawn('echo', 'orphan', { parentRunId: 'no-such-run' })
    await orphan.result
    expect((await app.request(`/runs/${orphan.runId}`, as('alice-token'))).status).toBe(403)
  })

  it('keeps sessions open without auth', async () => {
    const { app } = setup()
    const first = await app.request('/agents/echo/chat', post(chat('shared', 'one')))
    expect(first.status).toBe(200)
    expect(await textOf(first)).toContain('(turn 1)')
    const second = await app.request('/agents/echo/chat', post(chat('shared', 'two')))
    expect(await textOf(second)).toContain('(turn 2)')
  })
})
