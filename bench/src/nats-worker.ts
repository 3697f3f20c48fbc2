/**
 * One worker process of the NATS + Postgres workload: a runtime on the Postgres store and a NATS
 * bus, serving the bench's `adder` under a prefix. Prints `READY` once it takes triggers; on a line
 * `stop` on stdin it closes and prints its `RESULT`: the run id of every `add` call it executed
 * (each 1-step run calls it once, so the coordinator finds runs executed twice or never).
 * Usage: node --import tsx bench/src/nats-worker.ts '{"prefix":"...","connectionString":"..."}'
 */
import { createInterface } from 'node:readline'
import { Agent } from '@vel/actors'
import { defineTool } from '@vel/core'
import { createPostgresStore } from '@vel/store/postgres'
import { startBenchWorker } from './nats-setup.ts'
import { addDescription, addInputSchema } from './script.ts'
import { childOptions, printResult } from './stats.ts'
import { scriptedModel } from './vel.ts'

interface WorkerProcessOptions {
  prefix: string
  connectionString: string
  /** Postgres pool size (the store's default is 10). */
  maxConnections?: number
}

export interface NatsWorkerResult {
  pid: number
  /** The run of each executed `add` call, in order. */
  toolRuns: string[]
  /** CPU time (user + system) this process spent from READY to `stop`, in ms. */
  cpuMs: number
}

const options = childOptions<WorkerProcessOptions>()
const toolRuns: string[] = []
const add = defineTool({
  name: 'add',
  description: addDescription,
  input: addInputSchema,
  handler: (input: { a: number; b: number }, context) => {
    toolRuns.push(context.runId)
    return input.a + input.b
  },
  sideEffects: 'none',
})
const agent = new Agent({
  id: 'adder',
  model: scriptedModel(),
  tools: [add],
  policies: { retry: false, maxSteps: 1000 },
})
const store = createPostgresStore({
  connectionString: options.connectionString,
  ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
})
await store.migrate()
const worker = await startBenchWorker({ store, prefix: options.prefix, agent })
const cpuAtReady = process.cpuUsage()
process.stdout.write('READY\n')

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'stop') continue
  const cpu = process.cpuUsage(cpuAtReady)
  await worker.close()
  await store.close()
  printResult({
    pid: process.pid,
    toolRuns,
    cpuMs: (cpu.user + cpu.system) / 1000,
  } satisfies NatsWorkerResult)
  break
}
