/**
 * A worker process for the crash tests: runs (or recovers, or approves) one agent run against a
 * SQLite file, and stops dead at a chosen point, printing KILLPOINT so the parent can SIGKILL it.
 */
import { appendFileSync } from 'node:fs'
import { defineTool, type Message } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { Agent, createInProcessBus, createRuntime } from '../src/index.ts'
import { scripted, stepsOf } from './support.ts'

interface Options {
  db: string
  log: string
  mode: 'run' | 'recover' | 'approve'
  killAt: 'model' | 'tool-started' | 'tool-result' | 'approval' | 'none'
  sideEffects: 'unsafe' | 'idempotent'
  runId: string
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options
const killHere = (): Promise<never> => {
  process.stdout.write('KILLPOINT\n')
  return new Promise<never>(() => undefined)
}
const shouldKill = (point: Options['killAt']) => options.mode === 'run' && options.killAt === point

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers and records that it ran.',
  input: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
  },
  handler: async ({ a, b }: { a: number; b: number }, context) => {
    appendFileSync(options.log, `${context.idempotencyKey} add(${a},${b})\n`)
    if (a === 2 && shouldKill('tool-started')) await killHere()
    return a + b
  },
  sideEffects: options.sideEffects,
  needsApproval: ({ a }: { a: number }) => options.killAt === 'approval' && a === 2,
})

const model = scripted(async (request) => {
  const results = request.messages.flatMap((message: Message) =>
    message.role === 'tool'
      ? message.content.map((part) => ('output' in part ? Number(part.output) : 0))
      : [],
  )
  const n = results.length
  if (n === 1 && shouldKill('model')) await killHere()
  if (n < stepsOf(request))
    return { toolCalls: [{ id: `call_${n + 1}`, name: 'add', input: { a: n + 1, b: n + 1 } }] }
  return { text: `sum=${results.reduce((sum, value) => sum + value, 0)}` }
})

const store = createSqliteStore({ filename: options.db })
await store.migrate()
if (shouldKill('tool-result')) {
  const append = store.append.bind(store)
  store.append = async (runId, entries, expectedSeq, appendOptions) => {
    const seq = await append(runId, entries, expectedSeq, appendOptions)
    if (
      entries.some(
        (entry) =>
          entry.type === 'tool.succeeded' && (entry.data as { toolCallId?: string }).toolCallId === 'call_2',
      )
    )
      await killHere()
    return seq
  }
}
const bus = createInProcessBus()
if (shouldKill('approval')) bus.onRequest(() => void killHere())
const agent = new Agent({ id: 'crash', model, tools: [add], policies: { retry: false } })
const runtime = createRuntime({ store, bus, agents: [agent], leaseTtlMs: 200 })

let result: Promise<unknown>
if (options.mode === 'run') {
  const handle = await runtime.spawn('crash', 'Add the numbers step by step, then report the sum. steps=3', {
    runId: options.runId,
  })
  result = handle.result
} else {
  const handle = runtime.handle(options.runId)
  result = handle.result
  if (options.mode === 'approve') await runtime.approve(options.runId, 'call_2', { by: 'second-process' })
  else {
    // Wait for the dead worker's lease to expire, then recover.
    await new Promise((resolve) => setTimeout(resolve, 250))
    const resumed = await runtime.recover()
    if (!resumed.includes(options.runId)) throw new Error(`run not recovered: ${JSON.stringify(resumed)}`)
  }
}
const answer = await result
const journal = await runtime.journal(options.runId)
process.stdout.write(`RESULT ${JSON.stringify({ answer, journal: journal.map((entry) => entry.data) })}\n`)
await store.close()
