/**
 * NATS trigger to first part (one process, two connections): a caller that speaks plain NATS as a
 * non-JS client does subscribes to a run's events, flushes, publishes the trigger with a reply
 * subject, and times publish → first stream part, one run at a time (1-step runs of the bench's
 * `adder` on the memory store, every answer checked). The floor is a raw request/reply round trip
 * from the caller's connection to a responder on the worker's connection.
 * Usage: node --import tsx bench/src/nats-latency.ts '{"runs":1000,"warmupRuns":200}'
 */
import type { Msg, Subscription } from '@nats-io/transport-node'
import { createNatsClient, createSubjects } from '@vel/nats'
import { createMemoryStore } from '@vel/store'
import { createPostgresStore } from '@vel/store/postgres'
import {
  adderAgent,
  adminQuery,
  connectNats,
  databaseUrl,
  probeServices,
  readPart,
  startBenchWorker,
  uniqueDatabase,
  uniquePrefix,
  writeJson,
} from './nats-setup.ts'
import { expectedAnswer, promptFor } from './script.ts'
import { childOptions, median, printResult, quantile } from './stats.ts'

interface LatencyOptions {
  /** `memory` (default) or `postgres` (a fresh database, dropped at the end). */
  store?: 'memory' | 'postgres'
  /**
   * `nats` (default): plain NATS as a non-JS caller does; `client`: `createNatsClient` of
   * @vel/nats, from `trigger()` called to the first part `events()` yields.
   */
  caller?: 'nats' | 'client'
  runs: number
  warmupRuns: number
  /** Raw request/reply round trips for the floor. */
  pings?: number
}

export interface NatsLatencyResult {
  skipped?: string
  store: 'memory' | 'postgres'
  caller: 'nats' | 'client'
  runs: number
  checked: number
  firstPartMs: { p50: number; p99: number; max: number }
  triggerReplyMs: { p50: number; p99: number }
  finishMs: { p50: number; p99: number }
  floorRoundTripMs: { p50: number; p99: number }
}

const options = childOptions<LatencyOptions>()
const onPostgres = options.store === 'postgres'
const skipped = await probeServices({ nats: true, postgres: onPostgres })
if (skipped !== undefined) {
  printResult({ skipped })
  process.exit(0)
}

const prefix = uniquePrefix('latency')
const subjects = createSubjects(prefix)
const database = onPostgres ? uniqueDatabase('latency') : undefined
if (database !== undefined) await adminQuery(`create database ${database}`)
const store =
  database === undefined
    ? createMemoryStore()
    : createPostgresStore({ connectionString: databaseUrl(database) })
await store.migrate()
const worker = await startBenchWorker({ store, prefix, agent: adderAgent() })
const caller = await connectNats('vel-bench-caller')
const prompt = promptFor(1)
const expected = expectedAnswer(1)

// One reply inbox for every trigger: `<inbox>.<runId>`.
const inbox = `_INBOX.${prefix.replaceAll('.', '_')}`
const replies = new Map<string, (message: Msg) => void>()
const replySubscription = caller.subscribe(`${inbox}.>`, {
  callback: (_error, message) => replies.get(message.subject)?.(message),
})

interface Timing {
  firstPart: number
  triggerReply: number
  finish: number
}

let checked = 0
async function triggerOnce(runId: string): Promise<Timing> {
  return options.caller === 'client' ? triggerThroughClient(runId) : triggerThroughNats(runId)
}

const client = createNatsClient(caller, { prefix })
/** Through the JS client: `trigger()` resolves once the run is stored, then `events()` yields its parts. */
async function triggerThroughClient(runId: string): Promise<Timing> {
  const started = performance.now()
  await client.trigger('adder', prompt, { runId })
  const triggerReply = performance.now() - started
  let firstPart = 0
  let text = ''
  for await (const part of client.events(runId)) {
    if (firstPart === 0) firstPart = performance.now() - started
    if (part.type === 'text-delta') text += part.delta
  }
  if (text !== expected) throw new Error(`run ${runId} answered ${text} (expected ${expected})`)
  checked += 1
  return { firstPart, triggerReply, finish: performance.now() - started }
}

async function triggerThroughNats(runId: string): Promise<Timing> {
  const replySubject = `${inbox}.${runId}`
  let events: Subscription | undefined
  const timing = await new Promise<Timing>((resolve, reject) => {
    let started = 0
    let firstPart = 0
    let triggerReply = 0
    let text = ''
    replies.set(replySubject, (message) => {
      triggerReply = performance.now() - started
      const reply = message.json<{ runId?: string; error?: unknown }>()
      if (reply.runId !== runId) reject(new Error(`trigger ${runId} answered ${JSON.stringify(reply)}`))
    })
    events = caller.subscribe(subjects.runEvents(runId), {
      callback: (_error, message) => {
        if (firstPart === 0) firstPart = performance.now() - started
        const { part } = readPart(message.data)
        if (part.type === 'text-delta') text += String(part.delta)
        if (part.type === 'finish') {
          if (text !== expected) reject(new Error(`run ${runId} answered ${text} (expected ${expected})`))
          else resolve({ firstPart, triggerReply, finish: performance.now() - started })
        }
      },
    })
    caller
      .flush()
      .then(() => {
        started = performance.now()
        caller.publish(subjects.agentRun('adder'), writeJson({ input: prompt, runId }), {
          reply: replySubject,
        })
      })
      .catch(reject)
  })
  events?.unsubscribe()
  replies.delete(replySubject)
  checked += 1
  return timing
}

// The floor: request/reply on the same two connections, a responder that answers at once.
const echoSubject = `${prefix}.echo`
const echo = worker.connection.subscribe(echoSubject, {
  callback: (_error, message) => {
    message.respond(message.data)
  },
})
await worker.connection.flush()
const roundTrips: number[] = []
const payload = writeJson({ input: prompt, runId: 'floor' })
for (let i = 0; i < (options.pings ?? options.runs) + options.warmupRuns; i++) {
  const started = performance.now()
  await caller.request(echoSubject, payload, { timeout: 5000 })
  if (i >= options.warmupRuns) roundTrips.push(performance.now() - started)
}
echo.unsubscribe()

for (let i = 0; i < options.warmupRuns; i++) await triggerOnce(`warm-${i}`)
const timings: Timing[] = []
for (let i = 0; i < options.runs; i++) timings.push(await triggerOnce(`run-${i}`))

replySubscription.unsubscribe()
client.close()
await caller.close()
await worker.close()
await store.close()
if (database !== undefined) await adminQuery(`drop database ${database} with (force)`)

const first = timings.map((timing) => timing.firstPart)
printResult({
  store: options.store ?? 'memory',
  caller: options.caller ?? 'nats',
  runs: options.runs,
  checked,
  firstPartMs: { p50: median(first), p99: quantile(first, 0.99), max: Math.max(...first) },
  triggerReplyMs: {
    p50: median(timings.map((timing) => timing.triggerReply)),
    p99: quantile(
      timings.map((timing) => timing.triggerReply),
      0.99,
    ),
  },
  finishMs: {
    p50: median(timings.map((timing) => timing.finish)),
    p99: quantile(
      timings.map((timing) => timing.finish),
      0.99,
    ),
  },
  floorRoundTripMs: { p50: median(roundTrips), p99: quantile(roundTrips, 0.99) },
} satisfies NatsLatencyResult)
