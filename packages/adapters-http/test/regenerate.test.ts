import { Agent, createRuntime } from '@vel/actors'
import { defineTool, type Message, type ModelRequest } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import type { HttpChatTransportInitOptions, UIMessage } from 'ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'
import { scriptedModel, TestChat } from './support.ts'

/*
 * `regenerate()`, editing and deleting messages with the AI SDK's own `Chat` (its `AbstractChat`,
 * which `@ai-sdk/react`'s `useChat` wraps, with the default transport) over a real socket: after
 * each, the model is asked with exactly the conversation the chat shows.
 */

/** Every model request, as `role: text` lines (tool calls and results named). */
const asked: string[][] = []
let answers = 0

const line = (message: Message): string => {
  if (typeof message.content === 'string') return `${message.role}: ${message.content}`
  const text = message.content
    .map((part) =>
      part.type === 'text'
        ? part.text
        : part.type === 'tool-call'
          ? `[call ${part.name}]`
          : part.type === 'tool-result'
            ? `[result ${part.toolName}]`
            : '',
    )
    .join('')
  return `${message.role}: ${text}`
}

const lastUserText = (request: ModelRequest) => {
  const user = request.messages.filter((message) => message.role === 'user').at(-1)
  return user === undefined ? '' : line(user).slice('user: '.length)
}

/** Answers `A<n> to <question>`; `check` calls a tool first, `pay` one that needs approval. */
const parrot = new Agent({
  id: 'parrot',
  model: scriptedModel((request) => {
    asked.push(request.messages.map(line))
    const last = request.messages.at(-1)
    const question = lastUserText(request)
    if (last?.role === 'user' && question.startsWith('check'))
      return { toolCalls: [{ id: `look-${asked.length}`, name: 'look', input: {} }] }
    if (last?.role === 'user' && question.startsWith('pay'))
      return { toolCalls: [{ id: `pay-${asked.length}`, name: 'pay', input: {} }] }
    answers += 1
    return { text: `A${answers} to ${question}` }
  }),
  tools: [
    defineTool({
      name: 'look',
      description: 'Looks.',
      input: { type: 'object', properties: {}, additionalProperties: false },
      handler: () => 'seen',
      sideEffects: 'none',
    }),
    defineTool({
      name: 'pay',
      description: 'Pays.',
      input: { type: 'object', properties: {}, additionalProperties: false },
      handler: () => 'paid',
      needsApproval: true,
      sideEffects: 'unsafe',
    }),
  ],
  policies: { retry: false },
})

const runtime = createRuntime({ store: createMemoryStore(), agents: [parrot], onError: () => undefined })
let server: RunningServer
beforeAll(async () => {
  server = await serve({ runtime, auth: { tokens: { 'tok-a': 'ann' } }, port: 0, hostname: '127.0.0.1' })
})
afterAll(async () => {
  await server.close()
})

/** A chat with the parrot over the socket, as ann. */
const newChat = (id: string, transport: Partial<HttpChatTransportInitOptions<UIMessage>> = {}) =>
  new TestChat(id, {
    api: `${server.url}/agents/parrot/chat`,
    headers: { authorization: 'Bearer tok-a' },
    ...transport,
  })

/** The user and assistant text lines of the model's last request (what the chat can show). */
const lastAsked = () => (asked.at(-1) ?? []).filter((text) => /^(user|assistant): ./.test(text))

describe('useChat regenerate, edit and delete', () => {
  it('regenerate(): the model no longer sees the discarded answer', async () => {
    const chat = newChat('regen-1')
    await chat.sendMessage({ text: 'one' })
    await chat.sendMessage({ text: 'two' })
    chat.check()
    const discarded = chat.shown().at(-1) as string
    expect(discarded).toMatch(/^assistant: A\d+ to two$/)

    await chat.regenerate()
    chat.check()
    const messages = lastAsked()
    expect(messages).toEqual(chat.shown().slice(0, 3))
    expect(messages).not.toContain(discarded)
    expect(messages.filter((text) => text === 'user: two')).toHaveLength(1)
    expect(chat.shown()).toHaveLength(4)
    expect(chat.shown().at(-1)).not.toBe(discarded)

    // And the next turn sees the regenerated answer, not the discarded one.
    await chat.sendMessage({ text: 'three' })
    chat.check()
    expect(lastAsked()).toEqual(chat.shown().slice(0, 5))
    // The response ends at `finish`; the run writes its turn just after: wait for the run itself.
    await runtime.handle(chat.lastMessage?.id as string).result
    const session = await runtime.store.getSession('regen-1')
    expect(session?.messages.map(line)).toEqual(chat.shown())
  })

  it('editing an earlier message drops it and every later turn', async () => {
    const chat = newChat('edit-1')
    await chat.sendMessage({ text: 'one' })
    await chat.sendMessage({ text: 'two' })
    await chat.sendMessage({ text: 'three' })
    chat.check()
    const second = chat.messages[2] as UIMessage
    expect(second.role).toBe('user')

    await chat.sendMessage({ text: 'two, edited', messageId: second.id })
    chat.check()
    expect(chat.shown()).toHaveLength(4)
    expect(lastAsked()).toEqual([...chat.shown().slice(0, 2), 'user: two, edited'])
    expect((asked.at(-1) ?? []).join('\n')).not.toMatch(/two$|three/m)
  })

  it('deleting messages with setMessages: the next turn sees what is left', async () => {
    const chat = newChat('delete-1')
    await chat.sendMessage({ text: 'one' })
    await chat.sendMessage({ text: 'two' })
    await chat.sendMessage({ text: 'three' })
    chat.check()
    // Delete the first turn, and the answer of the second (its question stays).
    const [, , two, , three, answer3] = chat.messages as UIMessage[]
    chat.messages = [two, three, answer3] as UIMessage[]

    await chat.sendMessage({ text: 'four' })
    chat.check()
    expect(lastAsked()).toEqual(chat.shown().slice(0, 4))
    expect(lastAsked()[0]).toBe('user: two')
  })

  it('a turn with tool calls leaves whole: no call is separated from its result', async () => {
    const chat = newChat('tools-1')
    await chat.sendMessage({ text: 'one' })
    await chat.sendMessage({ text: 'check it' })
    chat.check()
    expect(chat.shown().at(-1)).toMatch(/^assistant: \[output-available look\]A\d+ to check it$/)
    expect((asked.at(-1) ?? []).some((text) => text.includes('[result look]'))).toBe(true)

    await chat.regenerate()
    chat.check()
    const request = asked.at(-2) ?? [] // the regenerated turn calls the tool again, then answers
    expect(request.filter((text) => text.includes('[call look]'))).toEqual([])
    expect(request.filter((text) => text.includes('[result look]'))).toEqual([])
    expect(request.filter((text) => text === 'user: check it')).toHaveLength(1)
    await runtime.handle(chat.lastMessage?.id as string).result
    const session = await runtime.store.getSession('tools-1')
    const calls = session?.messages.filter((message) => line(message).includes('[call look]')) ?? []
    const results = session?.messages.filter((message) => message.role === 'tool') ?? []
    expect([calls.length, results.length]).toEqual([1, 1])
  })

  it('regenerating a turn that waits for an approval cancels its run and starts over', async () => {
    const chat = newChat('approval-1')
    await chat.sendMessage({ text: 'one' })
    await chat.sendMessage({ text: 'pay now' })
    chat.check()
    expect(chat.shown().at(-1)).toBe('assistant: [approval-requested pay]')
    const waiting = chat.lastMessage?.id as string
    expect((await runtime.record(waiting))?.status).toBe('waiting')

    // Ask again; the new turn waits for its own approval.
    await chat.regenerate()
    chat.check()
    expect((await runtime.record(waiting))?.status).toBe('cancelled')
    expect(chat.shown().at(-1)).toBe('assistant: [approval-requested pay]')
    expect(chat.lastMessage?.id).not.toBe(waiting)
    expect(lastAsked()).toEqual(chat.shown().slice(0, 3))
  })

  it('a client that sends only its last message still drops the regenerated turn', async () => {
    const chat = newChat('last-only-1', {
      prepareSendMessagesRequest: ({ id, messages, trigger, messageId }) => ({
        body: { id, messages: messages.slice(-1), trigger, messageId },
      }),
    })
    await chat.sendMessage({ text: 'one' })
    await chat.sendMessage({ text: 'two' })
    chat.check()
    // Without its history the request deletes nothing: the model saw the whole conversation.
    expect(lastAsked()).toEqual(chat.shown().slice(0, 3))
    const discarded = chat.shown().at(-1) as string

    await chat.regenerate()
    chat.check()
    expect(lastAsked()).toEqual(chat.shown().slice(0, 3))
    expect(lastAsked()).not.toContain(discarded)
  })

  it('refuses to rewrite a history its runs did not write, and leaves it intact', async () => {
    const chat = newChat('seeded-1')
    await runtime.store.appendSession('seeded-1', [{ role: 'user', content: 'seeded by the app' }])
    await chat.sendMessage({ text: 'one' })
    chat.check()
    expect(lastAsked()[0]).toBe('user: seeded by the app')
    const before = await runtime.store.getSession('seeded-1')

    await chat.regenerate()
    expect(chat.status).toBe('error')
    expect(chat.error?.message).toMatch(/holds history its runs did not write/)
    expect(await runtime.store.getSession('seeded-1')).toEqual(before)
  })
})
