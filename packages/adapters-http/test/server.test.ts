import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'
import { setup, transfers } from './support.ts'

/*
 * The AI SDK's own client against a real socket: `DefaultChatTransport` (what `useChat` uses by
 * default) posts the chat request and parses the SSE; `readUIMessageStream` builds the message.
 */

let server: RunningServer
const { runtime } = setup()

beforeAll(async () => {
  server = await serve({ runtime, auth: { tokens: { 'e2e-token': 'erin' } }, port: 0, hostname: '127.0.0.1' })
})
afterAll(async () => {
  await server.close()
})

const transport = (agentId: string) =>
  new DefaultChatTransport<UIMessage>({
    api: `${server.url}/agents/${agentId}/chat`,
    headers: { authorization: 'Bearer e2e-token' },
  })

/** Sends the chat like `useChat` does and returns the final assistant message. */
async function send(agentId: string, chatId: string, messages: UIMessage[]): Promise<UIMessage> {
  const last = messages.at(-1)
  const stream: ReadableStream<UIMessageChunk> = await transport(agentId).sendMessages({
    chatId,
    messages,
    trigger: 'submit-message',
    messageId: undefined,
    abortSignal: undefined,
  })
  let message: UIMessage | undefined
  const errors: unknown[] = []
  for await (const snapshot of readUIMessageStream<UIMessage>({
    stream,
    ...(last?.role === 'assistant' ? { message: last } : {}),
    onError: (error) => errors.push(error),
    terminateOnError: true,
  }))
    message = snapshot
  expect(errors).toEqual([])
  if (message === undefined) throw new Error('no message')
  return message
}

const userMessage = (id: string, text: string): UIMessage => ({
  id,
  role: 'user',
  parts: [{ type: 'text', text }],
})
const textParts = (message: UIMessage) =>
  message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : []))

describe('the AI SDK client over a real socket', () => {
  it('reads text and tool parts of a run', async () => {
    const message = await send('banker', 'e2e-1', [userMessage('u1', 'my balance')])
    expect(message.role).toBe('assistant')
    const tool = message.parts.find((part) => part.type === 'tool-balance')
    expect(tool).toMatchObject({
      toolCallId: 'call-1',
      state: 'output-available',
      input: {},
      output: { balance: 100 },
    })
    expect(textParts(message)).toEqual(['Done: {"balance":100}'])
    expect(message.parts.filter((part) => part.type === 'step-start')).toHaveLength(2)
  })

  it('round-trips an approval: request out, response in the next request, run completes', async () => {
    const before = transfers.length
    const user = userMessage('u1', 'transfer 10')
    const asked = await send('banker', 'e2e-2', [user])
    const pending = asked.parts.find((part) => part.type === 'tool-transfer')
    expect(pending).toMatchObject({
      state: 'approval-requested',
      approval: { id: 'call-1' },
      input: { amount: 10 },
    })
    expect(transfers.length).toBe(before)

    // What `addToolApprovalResponse` does to the message before `useChat` sends it again.
    const responded: UIMessage = {
      ...asked,
      parts: asked.parts.map((part) =>
        part.type === 'tool-transfer' && part.state === 'approval-requested'
          ? { ...part, state: 'approval-responded', approval: { id: part.approval.id, approved: true } }
          : part,
      ),
    }
    const done = await send('banker', 'e2e-2', [user, responded])
    expect(done.id).toBe(asked.id)
    const tool = done.parts.find((part) => part.type === 'tool-transfer')
    expect(tool).toMatchObject({
      state: 'output-available',
      output: { transferred: 10 },
      approval: { approved: true },
    })
    expect(textParts(done)).toEqual(['Done: {"transferred":10}'])
    expect(transfers.length).toBe(before + 1)
    const runs = await runtime.store.listRuns({ sessionId: 'e2e-2' })
    expect(runs.items.map((run) => [run.status, run.metadata.startedBy])).toEqual([['completed', 'erin']])
  })

  it('rejects the client without a token', async () => {
    const response = await fetch(`${server.url}/runs`)
    expect(response.status).toBe(401)
  })
})
