/**
 * W2, many agents (one process): `sessions` independent sessions, each run once with K = 2,
 * `concurrency` at a time, all kept; throughput, latency and memory retained per 1,000 sessions.
 */
import { join } from 'node:path'
import { expectedAnswer, promptFor } from './script.ts'
import { childOptions, fullGc, median, printResult, quantile } from './stats.ts'
import { createSubject, databaseBytes, type RuntimeName } from './subject.ts'
import type { StoreKind } from './vel.ts'

interface W2Options {
  runtime: RuntimeName
  store: StoreKind
  dir: string
  sessions: number
  concurrency: number
  warmupSessions: number
}

const K = 2
const options = childOptions<W2Options>()
const filename =
  options.store === 'sqlite' ? join(options.dir, `w2-${options.runtime}-${process.pid}.db`) : undefined
const subject = await createSubject(options.runtime, options.store, filename)
const prompt = promptFor(K)
const expected = expectedAnswer(K)

/** Runs `count` sessions named `<prefix><i>`, `concurrency` in flight; returns latencies in ms. */
async function runSessions(prefix: string, count: number): Promise<number[]> {
  const latencies = new Array<number>(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      const started = performance.now()
      const answer = await subject.run(prompt, `${prefix}${index}`)
      latencies[index] = performance.now() - started
      if (answer !== expected) throw new Error(`session ${prefix}${index}: ${answer} (expected ${expected})`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, count) }, worker))
  return latencies
}

const memory = () => {
  const usage = process.memoryUsage()
  return { heapPlusExternal: usage.heapUsed + usage.external, rss: usage.rss }
}

await runSessions('warm-', options.warmupSessions)
await subject.checkpoint()
fullGc()
const storeBytes = async () => (await subject.databaseBytes?.()) ?? databaseBytes(filename)
const before = { ...memory(), db: await storeBytes() }
const tripsBefore = subject.roundTrips?.()
const started = performance.now()
const latencies = await runSessions('s-', options.sessions)
const wallMs = performance.now() - started
const tripsAfter = subject.roundTrips?.()
await subject.checkpoint()
fullGc()
const after = { ...memory(), db: await storeBytes() }

// A few sessions must still hold their whole conversation: prompt, 2 calls and results, answer.
const wanted = [`human:${prompt}`, 'ai:', 'tool:2', 'ai:', 'tool:4', `ai:${expected}`]
const sampled = [0, 1, Math.floor(options.sessions / 2), options.sessions - 1]
for (const index of sampled) {
  const lines = await subject.conversation(`s-${index}`)
  if (JSON.stringify(lines) !== JSON.stringify(wanted))
    throw new Error(`session s-${index} lost its conversation: ${JSON.stringify(lines)}`)
}
const perThousand = (delta: number) => ((delta / options.sessions) * 1000) / (1024 * 1024)
await subject.close()
printResult({
  runtime: options.runtime,
  store: options.store,
  sessions: options.sessions,
  checked: options.sessions + options.warmupSessions,
  sessionsVerified: sampled.length,
  runsPerSecond: options.sessions / (wallMs / 1000),
  latencyMs: { p50: median(latencies), p90: quantile(latencies, 0.9) },
  retainedMBPer1k: {
    heapPlusExternal: perThousand(after.heapPlusExternal - before.heapPlusExternal),
    rss: perThousand(after.rss - before.rss),
    db: perThousand(after.db - before.db),
  },
  dbMB: after.db / (1024 * 1024),
  ...(tripsBefore === undefined || tripsAfter === undefined
    ? {}
    : { roundTripsPerRun: (tripsAfter.total - tripsBefore.total) / options.sessions }),
})
