/**
 * A worker process for the session concurrency test: runs `turns` turns of one session against a
 * SQLite file shared with another such process. A turn refused with `session-busy` waits for the
 * other process's run to end and tries again (the queueing a caller does); every turn calls a tool
 * and then answers. Prints one line per outcome: `done <runId>` or `busy`.
 */
import { defineTool, RunError } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { Agent, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

const { db, name, turns } = JSON.parse(process.argv[2] ?? '{}') as { db: string; name: string; turns: number }

const note = defineTool({
  name: 'note',
  description: 'Notes a turn.',
  input: { type: 'object', properties: { turn: { type: 'string' } }, required: ['turn'] },
  handler: ({ turn }: { turn: string }) => `noted ${turn}`,
  sideEffects: 'idempotent',
})
const agent = new Agent({
  id: 'talker',
  model: scripted((request) => {
    const last = request.messages.at(-1)
    const text = (message: typeof last) =>
      typeof message?.content === 'string' ? message.content : JSON.stringify(message?.content)
    if (last?.role === 'tool') return { text: `answered after ${text(last)}` }
    return { toolCalls: [{ id: `note-${text(last)}`, name: 'note', input: { turn: text(last) } }] }
  }),
  tools: [note],
  policies: { retry: false },
})

const store = createSqliteStore({ filename: db })
await store.migrate()
const runtime = createRuntime({ store, agents: [agent], onError: () => undefined })
const sessionId = 'shared'
const settled = async () => {
  // Wait for the session's unfinished run (the other process's) to end, reading the index.
  for (;;) {
    const busy = await store.listRuns({ sessionId, status: ['running', 'waiting'] }, { limit: 1 })
    if (busy.items.length === 0) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
for (let turn = 0; turn < turns; ) {
  try {
    const handle = await runtime.spawn('talker', `${name}-${turn}`, { sessionId })
    await handle.result
    process.stdout.write(`done ${handle.runId}\n`)
    turn += 1
  } catch (error) {
    if (!RunError.isInstance(error) || error.reason !== 'session-busy') throw error
    process.stdout.write('busy\n')
    await settled()
  }
}
await runtime.shutdown()
await store.close()
