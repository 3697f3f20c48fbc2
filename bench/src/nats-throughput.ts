/**
 * NATS + Postgres throughput: `workers` worker processes (`nats-worker.ts`) share one fresh
 * Postgres database and one queue group; this process triggers 1-step runs of the bench's `adder`
 * over plain NATS (request/reply on `<prefix>.agent.adder.run`), `concurrency` in flight, and
 * counts a run done when its `finish` part arrives on `<prefix>.run.*.events` with the right
 * answer. Checked afterwards: every run's tool ran exactly once across all workers, and the store
 * holds every run as completed. The database is dropped at the end.
 * Usage: node --import tsx bench/src/nats-throughput.ts '{"workers":2,"runs":3000,"warmupRuns":200,"concurrency":100}'
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createSubjects } from '@vel/nats'
import { createPostgresStore } from '@vel/store/postgres'
import pg from 'pg'
import { childEnvironment } from './compiled.ts'
import {
  adminQuery,
  connectNats,
  databaseUrl,
  probeServices,
  readPart,
  uniqueDatabase,
  uniquePrefix,
  writeJson,
} from './nats-setup.ts'
import type { NatsWorkerResult } from './nats-worker.ts'
import { benchDir } from './runner.ts'
import { expectedAnswer, promptFor } from './script.ts'
import { childOptions, median, printResult, quantile } from './stats.ts'

interface ThroughputOptions {
  workers: number
  runs: number
  warmupRuns: number
  concurrency: number
  /** Postgres pool size of each worker process (the store's default is 10). */
  maxConnections?: number
  /** Extra node flags of the worker processes (e.g. `--cpu-prof`). */
  workerFlags?: string[]
}

export interface NatsThroughputResult {
  skipped?: string
  workers: number
  runs: number
  concurrency: number
  runsPerSecond: number
  latencyMs: { p50: number; p99: number }
  /** Runs whose tool ran more than once, or never (both must be 0). */
  duplicated: number
  missing: number
  /** Runs the store holds as completed (must be runs + warmupRuns). */
  completedInStore: number
  /** Tool calls per worker process (the spread of the load). */
  perWorker: number[]
  /** CPU of all worker processes per run (warm-up included), in ms: what a run costs Vel's side. */
  workerCpuMsPerRun: number
}

const options = childOptions<ThroughputOptions>()
const skipped = await probeServices({ nats: true, postgres: true })
if (skipped !== undefined) {
  printResult({ skipped })
  process.exit(0)
}

const prefix = uniquePrefix('throughput')
const subjects = createSubjects(prefix)
const database = uniqueDatabase('throughput')
const connectionString = databaseUrl(database)
await adminQuery(`create database ${database}`)

interface WorkerProcess {
  child: ChildProcess
  ready: Promise<void>
  result: Promise<NatsWorkerResult>
}

/** Starts a worker process; `ready` once it prints READY, `result` once it printed RESULT and exited. */
function startWorkerProcess(): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      ...(options.workerFlags ?? []),
      join('src', 'nats-worker.ts'),
      JSON.stringify({ prefix, connectionString, maxConnections: options.maxConnections }),
    ],
    { cwd: benchDir, env: childEnvironment(), stdio: ['pipe', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  let onReady: () => void = () => undefined
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (stdout.includes('READY\n')) onReady()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const result = new Promise<NatsWorkerResult>((resolve, reject) => {
    child.on('exit', (code) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '))
      if (code !== 0 || line === undefined) reject(new Error(`worker exited ${code}: ${stderr}`))
      else resolve(JSON.parse(line.slice('RESULT '.length)) as NatsWorkerResult)
    })
  })
  result.catch(() => undefined) // awaited later; a worker that dies early must not crash this process first
  // A worker that dies before READY fails the workload instead of hanging it.
  return { child, ready: Promise.race([ready, result.then(() => undefined)]), result }
}

const workers: WorkerProcess[] = []
let outcome: NatsThroughputResult | undefined
try {
  // Migrated here, so the workers start together (their own migrate() then finds nothing to do).
  const schema = createPostgresStore({ connectionString })
  await schema.migrate()
  await schema.close()
  for (let i = 0; i < options.workers; i++) workers.push(startWorkerProcess())
  await Promise.all(workers.map((worker) => worker.ready))

  const caller = await connectNats('vel-bench-caller')
  const prompt = promptFor(1)
  const expected = expectedAnswer(1)
  const pending = new Map<string, { text: string; done: (error?: Error) => void }>()
  const events = caller.subscribe(subjects.runEvents('*'), {
    callback: (_error, message) => {
      const { runId, part } = readPart(message.data)
      const run = pending.get(runId)
      if (run === undefined) return
      if (part.type === 'text-delta') run.text += String(part.delta)
      if (part.type === 'finish') {
        pending.delete(runId)
        run.done(run.text === expected ? undefined : new Error(`run ${runId} answered ${run.text}`))
      }
    },
  })
  await caller.flush()

  /** Triggers one run and resolves when its `finish` part arrived (rejects after 30 s). */
  const runOnce = (runId: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`run ${runId}: no finish part within 30 s`)), 30_000)
      pending.set(runId, {
        text: '',
        done: (error) => {
          clearTimeout(timer)
          if (error) reject(error)
          else resolve()
        },
      })
      caller
        .request(subjects.agentRun('adder'), writeJson({ input: prompt, runId }), { timeout: 30_000 })
        .then((reply) => {
          const body = reply.json<{ runId?: string }>()
          if (body.runId !== runId) reject(new Error(`trigger ${runId} answered ${JSON.stringify(body)}`))
        })
        .catch(reject)
    })

  async function runMany(label: string, count: number): Promise<number[]> {
    const latencies = new Array<number>(count)
    let next = 0
    let failure: unknown
    const lane = async () => {
      while (next < count && failure === undefined) {
        const index = next++
        const started = performance.now()
        await runOnce(`${label}-${index}`).catch((error: unknown) => {
          failure ??= error
        })
        latencies[index] = performance.now() - started
      }
    }
    await Promise.all(Array.from({ length: Math.min(options.concurrency, count) }, lane))
    if (failure !== undefined) throw failure
    return latencies
  }

  await runMany('warm', options.warmupRuns)
  const started = performance.now()
  const latencies = await runMany('run', options.runs)
  const wallMs = performance.now() - started
  events.unsubscribe()
  await caller.close()

  for (const worker of workers) worker.child.stdin?.end('stop\n')
  const results = await Promise.all(workers.map((worker) => worker.result))
  const counts = new Map<string, number>()
  for (const result of results)
    for (const runId of result.toolRuns) counts.set(runId, (counts.get(runId) ?? 0) + 1)
  let duplicated = 0
  let missing = 0
  for (const label of ['warm', 'run'] as const)
    for (let i = 0; i < (label === 'warm' ? options.warmupRuns : options.runs); i++) {
      const count = counts.get(`${label}-${i}`) ?? 0
      if (count === 0) missing += 1
      if (count > 1) duplicated += 1
    }
  const client = new pg.Client({ connectionString })
  await client.connect()
  const completed = await client.query<{ count: string }>(
    `select count(*) as count from runs where status = 'completed'`,
  )
  await client.end()
  outcome = {
    workers: options.workers,
    runs: options.runs,
    concurrency: options.concurrency,
    runsPerSecond: options.runs / (wallMs / 1000),
    latencyMs: { p50: median(latencies), p99: quantile(latencies, 0.99) },
    duplicated,
    missing,
    completedInStore: Number(completed.rows[0]?.count ?? 0),
    perWorker: results.map((result) => result.toolRuns.length),
    workerCpuMsPerRun:
      results.reduce((sum, result) => sum + result.cpuMs, 0) / (options.runs + options.warmupRuns),
  }
} finally {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  await adminQuery(`drop database if exists ${database} with (force)`)
}
printResult(outcome)
