/**
 * Approvals (one process): `waiting` runs each stop at a tool that needs approval (K = 1: the
 * scripted model calls `add(1, 1)`, the run asks for approval and leaves memory), all kept; then
 * `approvals` of them, picked at random, are approved one after another. Reports the heap after a
 * full GC per waiting run and in all, the share the runtime frees when it is dropped (the rest is
 * the store's data: the memory store keeps it in the heap), and the time from `approve` to the
 * run's next step (the approved tool's handler starting) and to its answer.
 */
import { join } from 'node:path'
import { Agent, createInProcessBus, createRuntime, type Runtime } from '@vel/actors'
import { defineTool, type Store } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { createSqliteStore } from '@vel/store/sqlite'
import { addDescription, addInputSchema, expectedAnswer, promptFor } from './script.ts'
import { childOptions, median, printResult, quantile } from './stats.ts'
import { type StoreKind, scriptedModel } from './vel.ts'

export interface ApprovalsOptions {
  store: StoreKind
  dir: string
  /** Runs left waiting for approval. */
  waiting: number
  /** How many of them are approved (at random, one after another). */
  approvals: number
  /** Runs started at a time until each waits. */
  concurrency: number
  /** Runs started, left waiting and approved before the baseline (so the code is warm). */
  warmup: number
}

export interface ApprovalsResult {
  store: StoreKind
  waiting: number
  approvals: number
  /** Runs found waiting with their one request after the spawn phase (a sample plus the approved). */
  checkedWaiting: number
  /** Approved runs that answered `sum=2`. */
  answered: number
  spawnSeconds: number
  heap: {
    /** heapUsed after a full GC with every run waiting, in MB. */
    totalMB: number
    /** heapUsed before the first run (runtime, agent and modules loaded), in MB. */
    baselineMB: number
    /** (total - baseline) per waiting run, bytes; `external` separately. */
    bytesPerWaitingRun: number
    externalBytesPerWaitingRun: number
    /** What dropping the runtime (not the store) frees, per waiting run, bytes. */
    runtimeBytesPerWaitingRun: number
  }
  /** ms from `approve` to the approved tool's handler starting, and to the run's answer. */
  toNextStepMs: { p50: number; p90: number; p99: number; max: number }
  toAnswerMs: { p50: number; p90: number }
}

const K = 1
const toolCallId = 'call_1'
const runIdOf = (index: number, prefix = 'approve-') => `${prefix}${index}`

/** A small deterministic PRNG (mulberry32), so every process approves the same runs. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A full GC with finalizers run in between (weakly held outcomes leave their table then). */
const settledGc = async (): Promise<void> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  for (let round = 0; round < 3; round++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const heap = () => process.memoryUsage()

export async function measureApprovals(options: ApprovalsOptions): Promise<ApprovalsResult> {
  let store: Store | undefined =
    options.store === 'memory'
      ? createMemoryStore()
      : createSqliteStore({
          filename: join(options.dir, `approvals-${process.pid}.db`),
          synchronous: 'NORMAL',
        })
  await store.migrate()
  /** When each run's approved tool started (performance.now()). */
  const toolStarted = new Map<string, number>()
  const add = defineTool({
    name: 'add',
    description: addDescription,
    input: addInputSchema,
    needsApproval: true,
    sideEffects: 'none',
    handler: (input: { a: number; b: number }, context) => {
      toolStarted.set(context.runId, performance.now())
      return input.a + input.b
    },
  })
  const agent = new Agent({
    id: 'approver',
    model: scriptedModel(),
    tools: [add],
    policies: { retry: false, maxSteps: 10 },
  })
  const bus = createInProcessBus()
  /** Spawned runs whose approval request has not come yet. */
  const asked = new Map<string, () => void>()
  bus.onRequest((message) => {
    asked.get(message.runId)?.()
    asked.delete(message.runId)
  })
  let runtime: Runtime | undefined = createRuntime({ store, agents: [agent], bus })
  const prompt = promptFor(K)

  /** Starts `count` runs, `concurrency` at a time, and returns once every one waits out of memory. */
  const leaveWaiting = async (live: Runtime, count: number, prefix?: string) => {
    let next = 0
    const starter = async () => {
      while (next < count) {
        const runId = runIdOf(next++, prefix)
        const requested = new Promise<void>((resolve) => asked.set(runId, resolve))
        await live.spawn('approver', prompt, { runId })
        await requested
      }
    }
    await Promise.all(Array.from({ length: Math.min(options.concurrency, count) }, starter))
    // Asked is not yet out of memory: wait until every run has passivated.
    while (live.activeRuns > 0) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  /** Approves the run and waits for its answer; ms to its tool's start and to the answer. */
  const approve = async (live: Runtime, runId: string) => {
    const handle = live.handle(runId)
    const approving = performance.now()
    await live.approve(runId, toolCallId, { by: 'bench' })
    const answer = await handle.result
    const done = performance.now()
    const started = toolStarted.get(runId)
    if (started === undefined) throw new Error(`run ${runId}: the approved tool never ran`)
    if (answer !== expectedAnswer(K)) throw new Error(`run ${runId}: ${String(answer)}`)
    toolStarted.delete(runId)
    return { toNextStep: started - approving, toAnswer: done - approving }
  }

  await leaveWaiting(runtime, options.warmup, 'warm-')
  for (let index = 0; index < options.warmup; index++) await approve(runtime, runIdOf(index, 'warm-'))
  await settledGc()
  const before = heap()
  const spawnStarted = performance.now()
  await leaveWaiting(runtime, options.waiting)
  const spawnSeconds = (performance.now() - spawnStarted) / 1000
  await settledGc()
  const waitingHeap = heap()

  // Which runs are approved: distinct, at random (the same ones in every process).
  const next01 = random(16)
  const chosen = new Set<number>()
  while (chosen.size < Math.min(options.approvals, options.waiting))
    chosen.add(Math.floor(next01() * options.waiting))
  // Each approved run, and a sample of the others, must be waiting for exactly its one request.
  const sample = new Set(chosen)
  for (let index = 0; index < options.waiting; index += Math.max(1, Math.floor(options.waiting / 50)))
    sample.add(index)
  let checkedWaiting = 0
  for (const index of sample) {
    const record = await store.getRun(runIdOf(index))
    const pending = record?.pending as ReadonlyArray<{ requestId?: string }> | undefined
    if (record?.status !== 'waiting' || pending?.length !== 1 || pending[0]?.requestId !== toolCallId)
      throw new Error(`run ${runIdOf(index)} is not waiting for ${toolCallId}: ${JSON.stringify(record)}`)
    checkedWaiting += 1
  }

  const toNextStep: number[] = []
  const toAnswer: number[] = []
  let answered = 0
  for (const index of chosen) {
    const figures = await approve(runtime, runIdOf(index))
    answered += 1
    toNextStep.push(figures.toNextStep)
    toAnswer.push(figures.toAnswer)
  }

  // The runtime's share: what dropping it (and the agent and bus it holds) frees, the store kept.
  await runtime.shutdown()
  runtime = undefined
  await settledGc()
  const storeOnly = heap()
  const perRun = (bytes: number) => Math.round(bytes / options.waiting)
  const result: ApprovalsResult = {
    store: options.store,
    waiting: options.waiting,
    approvals: toNextStep.length,
    checkedWaiting,
    answered,
    spawnSeconds,
    heap: {
      totalMB: waitingHeap.heapUsed / 2 ** 20,
      baselineMB: before.heapUsed / 2 ** 20,
      bytesPerWaitingRun: perRun(waitingHeap.heapUsed - before.heapUsed),
      externalBytesPerWaitingRun: perRun(waitingHeap.external - before.external),
      runtimeBytesPerWaitingRun: perRun(waitingHeap.heapUsed - storeOnly.heapUsed),
    },
    toNextStepMs: {
      p50: median(toNextStep),
      p90: quantile(toNextStep, 0.9),
      p99: quantile(toNextStep, 0.99),
      max: Math.max(...toNextStep),
    },
    toAnswerMs: { p50: median(toAnswer), p90: quantile(toAnswer, 0.9) },
  }
  await store.close()
  store = undefined
  return result
}

if (process.argv[1]?.endsWith('approvals.ts'))
  printResult(await measureApprovals(childOptions<ApprovalsOptions>()))
