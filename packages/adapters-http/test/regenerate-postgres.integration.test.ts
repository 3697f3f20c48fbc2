import { randomBytes } from 'node:crypto'
import { Agent, createRuntime, type Runtime } from '@vel/actors'
import type { Message } from '@vel/core'
import { createPostgresStore } from '@vel/store/postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpApp } from '../src/index.ts'
import { scriptedModel, TestChat } from './support.ts'

/*
 * Regenerate and delete with the AI SDK's `Chat` over a Postgres store: the session's history and
 * the runs' states come back from jsonb (keys reordered), and the rewrite still recognises every
 * turn, so the model sees what the chat shows.
 */

const url = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const reachable = await (async () => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return true
  } catch (error) {
    if (process.env.VEL_REQUIRE_SERVICES === '1') throw error
    console.warn(`[skip] Postgres at ${url} is unreachable: ${String(error)}`)
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
})()

const text = (message: Message) =>
  `${message.role}: ${typeof message.content === 'string' ? message.content : message.content.map((part) => ('text' in part ? part.text : '')).join('')}`
const asked: string[][] = []

describe.skipIf(!reachable)('regenerate and delete on Postgres (integration)', () => {
  const schema = `vel_test_chat_${randomBytes(5).toString('hex')}`
  const store = createPostgresStore({ connectionString: url, schema, maxConnections: 4 })
  let runtime: Runtime
  let app: ReturnType<typeof createHttpApp>
  beforeAll(async () => {
    await store.migrate()
    let answers = 0
    const agent = new Agent({
      id: 'parrot',
      model: scriptedModel((request) => {
        asked.push(request.messages.map(text))
        answers += 1
        return { text: `A${answers}` }
      }),
      policies: { retry: false },
    })
    runtime = createRuntime({ store, agents: [agent], onError: () => undefined })
    app = createHttpApp({ runtime })
  })
  afterAll(async () => {
    await runtime?.shutdown()
    await store.close()
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`drop schema if exists ${schema} cascade`)
    await admin.end()
  })

  const chat = (id: string) =>
    new TestChat(id, {
      api: 'http://vel.test/agents/parrot/chat',
      fetch: (input, init) => Promise.resolve(app.request(String(input), init)),
    })
  const shown = (messages: ReadonlyArray<string>) =>
    messages.filter((line) => /^(user|assistant): ./.test(line))

  it('regenerate drops the discarded answer; a deleted turn leaves the session', async () => {
    const session = chat('pg-1')
    await session.sendMessage({ text: 'one' })
    await session.sendMessage({ text: 'two' })
    await session.regenerate()
    session.check()
    expect(shown(asked.at(-1) ?? [])).toEqual(session.shown().slice(0, 3))
    session.messages = session.messages.slice(2)
    await session.sendMessage({ text: 'three' })
    session.check()
    expect(shown(asked.at(-1) ?? [])).toEqual(session.shown().slice(0, 3))
    // The response ends at `finish`; the run writes its turn just after: wait for the run itself.
    await runtime.handle(session.lastMessage?.id as string).result
    expect(((await store.getSession('pg-1'))?.messages ?? []).map(text)).toEqual(session.shown())
  })
})
