/**
 * Kill it, start it again, watch it resume. The first invocation starts a long run (ten slow
 * tool steps) against ./crash-restore.db and kills itself with SIGKILL half way (or press
 * Ctrl-C, or `kill -9` it yourself). The next invocation finds the unfinished run and continues
 * it from the journal: finished steps are not run again. A third one starts afresh.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs'
import { Agent, createRuntime } from '@vel/actors'
import { defineTool, type LanguageModel, type ModelPart } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'

const filename = './crash-restore.db'
const ledger = './crash-restore.log' // what the tool really did, outside the store
const steps = 10
const crashAfter = process.argv.includes('--no-crash') ? Number.POSITIVE_INFINITY : 5
const usage = { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedInputTokens: 0 }

/** A scripted model: one `work` call per step, then a summary. */
const model: LanguageModel = {
  provider: 'scripted',
  modelId: 'long-job',
  async *stream(request): AsyncGenerator<ModelPart> {
    const done = request.messages.filter((message) => message.role === 'tool').length
    if (done < steps) {
      yield {
        type: 'tool-call',
        toolCallId: `step_${done + 1}`,
        toolName: 'work',
        input: JSON.stringify({ step: done + 1 }),
      }
      yield { type: 'finish', finishReason: 'tool-calls', usage }
      return
    }
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: `All ${steps} steps done.` }
    yield { type: 'text-end', id: 't' }
    yield { type: 'finish', finishReason: 'stop', usage }
  },
}

const work = defineTool({
  name: 'work',
  description: 'One slow step of a long job.',
  input: { type: 'object', properties: { step: { type: 'integer' } }, required: ['step'] },
  handler: async ({ step }: { step: number }, context) => {
    await new Promise((resolve) => setTimeout(resolve, 300))
    appendFileSync(ledger, `${step} ${context.idempotencyKey}\n`)
    return `step ${step} ok`
  },
  sideEffects: 'idempotent', // safe to re-run (with the same idempotency key) if a crash cuts it off
})

const store = createSqliteStore({ filename })
await store.migrate()
const agent = new Agent({ id: 'long-job', model, tools: [work], policies: { maxSteps: steps + 1 } })
const runtime = createRuntime({ store, agents: [agent], leaseTtlMs: 1000 })

const unfinished = (await store.listRuns({ status: 'running', agentId: 'long-job' })).items[0]
let handle: Awaited<ReturnType<typeof agent.start>>
if (unfinished === undefined) {
  rmSync(ledger, { force: true })
  handle = await agent.start('Run the long job.')
  console.log(`Started run ${handle.runId} (${steps} steps of 300 ms) in ${filename}.`)
  if (Number.isFinite(crashAfter))
    console.log(`This process will kill itself with SIGKILL after step ${crashAfter}.`)
} else {
  const journal = await runtime.journal(unfinished.runId)
  console.log(`Found unfinished run ${unfinished.runId}: ${journal.length} events in the journal.`)
  console.log('Waiting for the dead process’s lease to expire, then resuming…')
  while (!(await runtime.recover()).includes(unfinished.runId)) await new Promise((r) => setTimeout(r, 250))
  handle = runtime.handle(unfinished.runId)
}

for await (const part of handle.parts()) {
  if (part.type === 'tool-output-available') {
    console.log(`  ${part.toolCallId}: ${JSON.stringify(part.output)}`)
    if (part.toolCallId === `step_${crashAfter}` && unfinished === undefined) {
      console.log('  ✗ crash! (SIGKILL: no cleanup, no goodbye). Run the same command again to resume.')
      process.kill(process.pid, 'SIGKILL')
    }
  }
  if (part.type === 'text-delta') console.log(`  answer: ${part.delta}`)
}
await handle.result
const runs = existsSync(ledger) ? readFileSync(ledger, 'utf8').trim().split('\n') : []
const distinct = new Set(runs.map((line) => line.split(' ')[0]))
console.log(
  `The tool ran ${runs.length} times for ${distinct.size} distinct steps (a step cut off by a crash may run twice, with the same idempotency key).`,
)
await runtime.shutdown()
await store.close()
rmSync(filename, { force: true })
rmSync(ledger, { force: true })
for (const suffix of ['-wal', '-shm']) rmSync(filename + suffix, { force: true })
