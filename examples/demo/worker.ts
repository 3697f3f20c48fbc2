/** The demo's doomed worker: runs the request and reports when the weather is in (then gets killed). */
import { createRuntime } from '@vel/actors'
import { createSqliteStore } from '@vel/store/sqlite'
import { travelAgent } from './agent.ts'

const [filename, runId] = process.argv.slice(2) as [string, string]
const store = createSqliteStore({ filename })
await store.migrate()
const agent = travelAgent()
const runtime = createRuntime({ store, agents: [agent], leaseTtlMs: 500 })
const handle = await runtime.spawn('travel', 'Book me two nights in Lisbon if the weather is good.', {
  runId,
  sessionId: 'demo-crash',
})
for await (const part of handle.parts()) {
  if (part.type === 'tool-output-available') process.stdout.write('WEATHER-DONE\n')
}
