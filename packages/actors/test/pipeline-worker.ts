/**
 * A worker process for the pipeline crash test: a three-stage sequence over SQLite. In `run` mode it
 * stops dead inside stage two (printing KILLPOINT); in `recover` mode it recovers and prints the answer.
 */
import { appendFileSync } from 'node:fs'
import type { Message, StreamPart } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { Agent, createRuntime, sequence } from '../src/index.ts'
import { scripted } from './support.ts'

const { db, log, mode, runId } = JSON.parse(process.argv[2] ?? '{}') as {
  db: string
  log: string
  mode: string
  runId: string
}

const lastUser = (messages: ReadonlyArray<Message>) => {
  const user = [...messages].reverse().find((message) => message.role === 'user')
  return typeof user?.content === 'string' ? user.content : ''
}

const stage = (id: string, transform: (text: string) => string, killInside = false) =>
  new Agent({
    id,
    model: scripted(async (request) => {
      appendFileSync(log, `${id}\n`)
      if (killInside && mode === 'run') {
        process.stdout.write('KILLPOINT\n')
        await new Promise(() => undefined)
      }
      return { text: transform(lastUser(request.messages)) }
    }),
    policies: { retry: false },
  })

const pipeline = sequence(
  [
    stage('research', (t) => `notes(${t})`),
    stage('write', (t) => `draft(${t})`, true),
    stage('review', (t) => `final(${t})`),
  ],
  { id: 'pipeline' },
)
const store = createSqliteStore({ filename: db })
await store.migrate()
const runtime = createRuntime({ store, agents: [pipeline], leaseTtlMs: 200 })
if (mode === 'run') {
  await runtime.spawn('pipeline', 'otters', { runId })
} else {
  const handle = runtime.handle(runId)
  await new Promise((resolve) => setTimeout(resolve, 250))
  await runtime.recover()
  process.stdout.write(`RESULT ${JSON.stringify({ answer: await handle.result })}\n`)
  // The parent's stream as a reader gets it now, and each child's own, for the test to compare.
  const replay = async (id: string) => {
    const parts: StreamPart[] = []
    for await (const { part } of runtime.stream(id, { follow: false })) parts.push(part)
    return parts
  }
  const children: Record<string, StreamPart[]> = {}
  for (const record of (await runtime.list({ parentRunId: runId })).items)
    children[record.runId] = await replay(record.runId)
  process.stdout.write(`STREAMS ${JSON.stringify({ parent: await replay(runId), children })}\n`)
  await store.close()
}
