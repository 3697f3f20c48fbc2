/**
 * A worker process for the failover test and the benchmark: a runtime on a SQLite store, a NATS
 * bus and a worker. Prints READY once serving; stops on SIGTERM. Argument: JSON options.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRuntime } from '@vel/actors'
import type { Lease, Store } from '@vel/core'
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
  /**
   * Slow passivation, as under load (the fast-human test): a lease is freed only once another
   * worker has tried to take the run and found it held (marker files in this directory), or after
   * 2 s if none does.
   */
  slowPassivation?: string
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options
const sqlite = createSqliteStore({ filename: options.db })
await sqlite.migrate()
const markers = options.slowPassivation
const store: Store =
  markers === undefined
    ? sqlite
    : Object.assign(Object.create(sqlite) as Store, {
        async acquireLease(runId: string, ownerId: string, ttlMs: number) {
          const lease = await sqlite.acquireLease(runId, ownerId, ttlMs)
          if (lease === undefined) writeFileSync(join(markers, `${runId}.held`), ownerId)
          return lease
        },
        async releaseLease(lease: Lease) {
          const marker = join(markers, `${lease.runId}.held`)
          for (let waited = 0; !existsSync(marker) && waited < 2000; waited += 10)
            await new Promise((resolve) => setTimeout(resolve, 10))
          return sqlite.releaseLease(lease)
        },
      })
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
    await sqlite.close()
    process.exit(0)
  })()
})
