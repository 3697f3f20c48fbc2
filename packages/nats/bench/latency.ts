/**
 * NATS benchmark (loopback). 1: trigger to first stream part, one in-process worker on a memory
 * store (median, p99). 2: sustained 2-step scripted runs across two worker processes sharing a
 * SQLite file (runs/s, each run followed to its `finish` part). Run: `npx tsx packages/nats/bench/latency.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryStore } from '@vel/store'
import { createNatsClient } from '../src/index.ts'
import { connectNats, natsUrl, startWorker, uniquePrefix } from '../test/support.ts'

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN

async function firstPartLatency(samples: number): Promise<void> {
  const prefix = uniquePrefix('bench')
  const store = createMemoryStore()
  await store.migrate()
  const worker = await startWorker({ store, prefix })
  const connection = await connectNats()
  const client = createNatsClient(connection, { prefix })
  const timings: number[] = []
  for (let index = 0; index < samples + 20; index++) {
    const started = performance.now()
    const { runId } = await client.trigger('adder', 'steps=1')
    let first = 0
    for await (const _part of client.events(runId)) {
      if (first === 0) first = performance.now() - started
    }
    if (index >= 20) timings.push(first)
  }
  timings.sort((a, b) => a - b)
  console.log(
    `trigger -> first part (${samples} runs, in-process worker): median ${percentile(timings, 50).toFixed(2)} ms, p99 ${percentile(timings, 99).toFixed(2)} ms`,
  )
  client.close()
  await connection.close()
  await worker.close()
}

function startProcess(options: object): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '..', 'test', 'worker-process.ts'),
        JSON.stringify(options),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
  })
}

async function sustained(runs: number, concurrency: number): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'vel-bench-'))
  const prefix = uniquePrefix('bench')
  const common = {
    url: natsUrl,
    prefix,
    db: join(directory, 'runs.sqlite'),
    leaseTtlMs: 30_000,
    recoverEveryMs: 0,
  }
  const workers = [
    await startProcess({ ...common, ownerId: 'bench-a' }),
    await startProcess({ ...common, ownerId: 'bench-b' }),
  ]
  const connection = await connectNats()
  const client = createNatsClient(connection, { prefix })
  const one = async () => {
    const { runId } = await client.trigger('adder', 'steps=2')
    for await (const _part of client.events(runId)) {
      // Drain to finish.
    }
  }
  for (let index = 0; index < 20; index++) await one()
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < runs) {
        next += 1
        await one()
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  console.log(
    `sustained 2-step runs, 2 worker processes, SQLite, ${concurrency} in flight: ${(runs / seconds).toFixed(0)} runs/s (${runs} runs in ${seconds.toFixed(2)} s)`,
  )
  client.close()
  await connection.close()
  for (const worker of workers) {
    worker.removeAllListeners('exit')
    worker.kill('SIGTERM')
  }
  rmSync(directory, { recursive: true, force: true })
}

await firstPartLatency(Number(process.env.SAMPLES ?? 500))
await sustained(Number(process.env.RUNS ?? 1000), Number(process.env.CONCURRENCY ?? 32))
process.exit(0)
