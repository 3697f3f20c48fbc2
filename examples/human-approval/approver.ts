/**
 * The second process: opens the same SQLite file, finds runs waiting for a human, answers the
 * question and approves the email. The waiting run holds no memory anywhere, so this process
 * rehydrates it from the store and carries it on.
 */
import { createRuntime } from '@vel/actors'
import type { HumanRequest } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { assistant } from './agent.ts'

const store = createSqliteStore({ filename: process.argv[2] as string })
await store.migrate()
const runtime = createRuntime({ store, agents: [assistant()] })
for (let round = 0; round < 2; round++) {
  let waiting = (await store.listRuns({ status: 'waiting' })).items
  while (waiting.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    waiting = (await store.listRuns({ status: 'waiting' })).items
  }
  for (const run of waiting) {
    const { state } = await runtime.get(run.runId)
    for (const request of state.pending as ReadonlyArray<HumanRequest>) {
      if (request.kind === 'question') {
        console.log(`  [approver pid ${process.pid}] answers "${request.question}" with "ada@example.com"`)
        await runtime.respond(run.runId, request.requestId, 'ada@example.com', { by: 'approver' })
      } else {
        console.log(
          `  [approver pid ${process.pid}] approves ${request.toolName} ${JSON.stringify(request.input)}`,
        )
        await runtime.approve(run.runId, request.requestId, { by: 'approver', reason: 'looks right' })
      }
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 300)) // let the run move on before looking again
}
await runtime
  .handle((await store.listRuns({}, { limit: 1 })).items[0]?.runId ?? '')
  .result.catch(() => undefined)
await runtime.shutdown()
await store.close()
