import { assertWellFormedStream, type RunEvent, type StreamPart } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { assemble, parseSse, partsOf, post, setup, transfers } from './support.ts'

const user = (id: string, text: string) => ({ id, role: 'user', parts: [{ type: 'text', text }] })
const text = (parts: ReadonlyArray<StreamPart>) =>
  parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')
type App = ReturnType<typeof setup>['app']
const chat = async (app: App, agentId: string, body: unknown, token?: string, continuation = false) => {
  const response = await app.request(`/agents/${agentId}/chat`, post(body, token))
  expect(response.status).toBe(200)
  expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
  const parts = partsOf(parseSse(await response.text()))
  // A continuation completes the message of the response before it: it is well formed joined to it.
  if (!continuation) assertWellFormedStream(parts)
  return { parts, runId: response.headers.get('x-vel-run-id') ?? '' }
}

/**
 * The two responses of a paused run, assembled by the AI SDK into one message (the second continuing
 * the first, as `useChat` does), give exactly the message of the run's whole stream: the continuation
 * carries on inside the step the pause closed, so no step holds only the earlier tool's output.
 */
const expectJoinedIsWholeRun = async (app: App, first: StreamPart[], second: StreamPart[], runId: string) => {
  expect(first.slice(-2)).toEqual([{ type: 'finish-step' }, { type: 'finish' }])
  expect(second[0]).toEqual({ type: 'start' })
  expect(second[1]?.type).not.toBe('start-step')
  const whole = partsOf(
    parseSse(await (await app.request(`/runs/${runId}/stream`, { headers: auth })).text()),
  )
  assertWellFormedStream(whole)
  const joined = await assemble(second, await assemble(first))
  const expected = await assemble(whole)
  expect(joined.parts).toEqual(expected.parts)
  const steps = joined.parts.map((part) => part.type)
  expect(steps.join(',')).not.toMatch(/step-start,step-start/)
}
const auth = { authorization: 'Bearer t' }

describe('POST /agents/:agentId/chat', () => {
  it('answers the last user message and keeps the conversation by chat id', async () => {
    const { app } = setup()
    const first = await chat(app, 'echo', {
      id: 'chat-1',
      messages: [user('u1', 'hello')],
      trigger: 'submit-message',
    })
    expect(text(first.parts)).toBe('You said: hello (turn 1)')
    const second = await chat(app, 'echo', {
      id: 'chat-1',
      messages: [user('u1', 'hello'), { id: 'a1', role: 'assistant', parts: [] }, user('u2', 'again')],
    })
    expect(text(second.parts)).toBe('You said: again (turn 2)')
  })

  it('takes approval responses from the next request and continues the same message', async () => {
    const { app, runtime } = setup({ auth: { tokens: { t: 'dana' } } })
    const before = transfers.length
    const first = await chat(app, 'banker', { id: 'chat-2', messages: [user('u1', 'transfer 10')] }, 't')
    expect(first.parts.map((part) => part.type)).toEqual([
      'start',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'tool-approval-request',
      'finish-step',
      'finish',
    ])
    const assistant = {
      id: 'a1',
      role: 'assistant',
      parts: [
        { type: 'step-start' },
        {
          type: 'tool-transfer',
          toolCallId: 'call-1',
          state: 'approval-responded',
          input: { amount: 10 },
          approval: { id: 'call-1', approved: true, reason: 'ok by me' },
        },
      ],
    }
    const second = await chat(
      app,
      'banker',
      { id: 'chat-2', messages: [user('u1', 'transfer 10'), assistant] },
      't',
      true,
    )
    expect(second.runId).toBe(first.runId)
    await expectJoinedIsWholeRun(app, first.parts, second.parts, first.runId)
    expect(second.parts.slice(0, 3)).toEqual([
      { type: 'start' },
      { type: 'tool-output-available', toolCallId: 'call-1', output: { transferred: 10 } },
      { type: 'start-step' },
    ])
    expect(text(second.parts)).toBe('Done: {"transferred":10}')
    expect(transfers.length).toBe(before + 1)
    const decision = (await runtime.journal(first.runId))
      .map((entry) => entry.data as unknown as RunEvent)
      .find((event) => event.type === 'approval.decided')
    expect(decision).toMatchObject({ approved: true, by: 'dana', reason: 'ok by me' })

    // The same approval sent again finds nothing waiting: a conflict, and the tool does not run twice.
    const replayed = await app.request(
      '/agents/banker/chat',
      post({ id: 'chat-2', messages: [user('u1', 'transfer 10'), assistant] }, 't'),
    )
    expect(replayed.status).toBe(409)
    expect(transfers.length).toBe(before + 1)
  })

  it('streams a denial as tool-output-denied', async () => {
    const { app } = setup()
    const first = await chat(app, 'banker', { id: 'chat-3', messages: [user('u1', 'transfer')] })
    const assistant = {
      id: 'a1',
      role: 'assistant',
      parts: [
        {
          type: 'tool-transfer',
          toolCallId: 'call-1',
          state: 'approval-responded',
          approval: { id: 'call-1', approved: false },
        },
      ],
    }
    const second = await chat(
      app,
      'banker',
      { id: 'chat-3', messages: [user('u1', 'transfer'), assistant] },
      undefined,
      true,
    )
    await expectJoinedIsWholeRun(app, first.parts, second.parts, first.runId)
    expect(second.parts[1]).toEqual({ type: 'tool-output-denied', toolCallId: 'call-1' })
    expect(text(second.parts)).toMatch(/^Failed: Denied by a human/)
  })

  it('refuses a new message while the chat waits for an approval', async () => {
    const { app } = setup()
    await chat(app, 'banker', { id: 'chat-4', messages: [user('u1', 'transfer')] })
    const response = await app.request(
      '/agents/banker/chat',
      post({ id: 'chat-4', messages: [user('u2', 'hello?')] }),
    )
    expect(response.status).toBe(409)
    expect(((await response.json()) as { detail: string }).detail).toContain('call-1')
  })

  it("answers a run's question with the user's next message", async () => {
    const { app } = setup()
    const first = await chat(app, 'asker', { id: 'chat-5', messages: [user('u1', 'pay the bill')] })
    expect(first.parts).toContainEqual({
      type: 'data-vel-human-request',
      id: 'ask-1',
      data: { requestId: 'ask-1', question: 'Which account?' },
    })
    const second = await chat(
      app,
      'asker',
      { id: 'chat-5', messages: [user('u1', 'pay the bill'), user('u2', 'checking')] },
      undefined,
      true,
    )
    expect(second.runId).toBe(first.runId)
    await expectJoinedIsWholeRun(app, first.parts, second.parts, first.runId)
    expect(second.parts[1]).toEqual({
      type: 'tool-output-available',
      toolCallId: 'ask-1',
      output: 'checking',
    })
    expect(text(second.parts)).toBe('Using checking')
  })
})
