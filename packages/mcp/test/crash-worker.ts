/**
 * A Vel process for the crash test: one agent whose only tool comes from the stdio catalog server,
 * a SQLite store. `run` starts a run whose tool call never finishes (the parent SIGKILLs this
 * process meanwhile); `recover` takes the run over in a new process and prints its outcome.
 */
import { Agent, createRuntime } from '@vel/actors'
import { createSqliteStore } from '@vel/store/sqlite'
import { createMcpClient } from '../src/index.ts'
import { scripted, stdioCatalog } from './support.ts'

interface Options {
  readonly db: string
  readonly log: string
  readonly mode: 'run' | 'recover'
  readonly tool: 'delete_item' | 'set_value'
  readonly runId: string
  /** Give the agent the client itself (a ToolSource) rather than the tools it listed at start. */
  readonly source?: boolean
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options
const mcp = await createMcpClient({
  servers: {
    catalog: {
      ...stdioCatalog(options.log, options.mode === 'run' ? [options.tool] : []),
      include: [options.tool],
    },
  },
})
const model = scripted((request) => {
  const result = request.messages.flatMap((message) => (message.role === 'tool' ? message.content : []))[0]
  if (result === undefined)
    return { toolCalls: [{ id: 'call_1', name: options.tool, input: { key: 'apple', value: 'green' } }] }
  return { text: 'output' in result ? `ok: ${String(result.output)}` : `not done: ${result.error}` }
})
const store = createSqliteStore({ filename: options.db })
await store.migrate()
const agent = new Agent({
  id: 'crash-mcp',
  model,
  tools: options.source === true ? [mcp] : [...(await mcp.tools())],
  policies: { retry: false },
})
const runtime = createRuntime({ store, agents: [agent], leaseTtlMs: 200 })

if (options.mode === 'run') {
  await runtime.spawn('crash-mcp', 'change the apple', { runId: options.runId })
  await new Promise<never>(() => undefined)
}
const handle = runtime.handle(options.runId)
// Wait for the dead process's lease to expire, then take the run over.
await new Promise((resolve) => setTimeout(resolve, 250))
const resumed = await runtime.recover()
if (!resumed.includes(options.runId)) throw new Error(`run not recovered: ${JSON.stringify(resumed)}`)
const answer = await handle.result
const journal = await runtime.journal(options.runId)
process.stdout.write(`RESULT ${JSON.stringify({ answer, journal: journal.map((entry) => entry.data) })}\n`)
await runtime.shutdown()
await mcp.close()
await store.close()
