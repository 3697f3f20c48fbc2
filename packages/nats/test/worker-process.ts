/**
 * A worker process for the failover test and the benchmark: a runtime on a SQLite store, a NATS
 * bus and a worker. Prints READY once serving; stops on SIGTERM. Argument: JSON options.
 */
import { createRuntime } from '@vel/actors'
import { createSqliteStore } from '@vel/store/sqlite'
import { createNatsBus, createWorker } from '../src/index.ts'
import { connectNats, testAgents } from './support.ts'

interface Options {
  url: string
  prefix: string
  db: string
  log?: string
  block?: boolean
  ownerId: string
  leaseTtlMs: number
  recoverEveryMs: number
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options
const store = createSqliteStore({ filename: options.db })
await store.migrate()
const connection = await connectNats(options.url)
const runtime = createRuntime({
  store,
  bus: createNatsBus({ connection, prefix: options.prefix }),
  agents: testAgents({
    ...(options.log === undefined ? {} : { sideEffectLog: options.log }),
    ...(options.block === undefined ? {} : { blockInCharge: options.block }),
  }),
  ownerId: options.ownerId,
  leaseTtlMs: options.leaseTtlMs,
  onError: () => undefined,
})
const worker = await createWorker({
  runtime,
  connection,
  prefix: options.prefix,
  recoverEveryMs: options.recoverEveryMs,
  onError: () => undefined,
})
process.stdout.write('READY\n')
process.once('SIGTERM', () => {
  void (async () => {
    await worker.close()
    await runtime.shutdown()
    await connection.close()
    await store.close()
    process.exit(0)
  })()
})
