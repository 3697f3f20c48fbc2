/**
 * W1, the tool loop (one process): runs of K steps, each in a fresh session, after a warm-up;
 * prints the median, min and max µs per step of `runs` runs for each K.
 * Usage: node --expose-gc --import tsx bench/src/w1.ts '{"runtime":"vel","store":"memory",...}'
 */
import { join } from 'node:path'
import { expectedAnswer, promptFor } from './script.ts'
import { childOptions, fullGc, median, printResult } from './stats.ts'
import { createSubject, type RuntimeName, type Variant } from './subject.ts'
import type { StoreKind } from './vel.ts'

interface W1Options {
  runtime: RuntimeName
  store: StoreKind
  variant?: Variant
  dir: string
  ks: number[]
  runs: number
  warmupSteps: number
  warmupMs: number
}

const options = childOptions<W1Options>()
const filename =
  options.store === 'sqlite' ? join(options.dir, `w1-${options.runtime}-${process.pid}.db`) : undefined
const subject = await createSubject(options.runtime, options.store, filename, options.variant)

let session = 0
let checked = 0
const runOnce = async (steps: number): Promise<number> => {
  const started = performance.now()
  const answer = await subject.run(promptFor(steps), `w1-${session++}`)
  const elapsed = performance.now() - started
  if (answer !== expectedAnswer(steps))
    throw new Error(`wrong answer for K=${steps}: ${answer} (expected ${expectedAnswer(steps)})`)
  checked++
  return elapsed
}

// Warm-up at K=20 until both the step count and the time are reached (V8 needs it).
const warmupStarted = performance.now()
let warmupSteps = 0
while (warmupSteps < options.warmupSteps || performance.now() - warmupStarted < options.warmupMs) {
  await runOnce(20)
  warmupSteps += 20
}
const warmupMs = performance.now() - warmupStarted

const perK: Record<string, { median: number; min: number; max: number }> = {}
// Postgres: server round trips per step over the measured runs, all of them and the appends'.
const roundTrips: Record<string, { perStep: number; appendsPerStep: number; perAppend: number }> = {}
for (const steps of options.ks) {
  fullGc()
  const perStep: number[] = []
  const before = subject.roundTrips?.()
  for (let run = 0; run < options.runs; run++) perStep.push(((await runOnce(steps)) * 1000) / steps)
  perK[steps] = { median: median(perStep), min: Math.min(...perStep), max: Math.max(...perStep) }
  const after = subject.roundTrips?.()
  if (before !== undefined && after !== undefined) {
    const totalSteps = steps * options.runs
    const appends = after.appends - before.appends
    roundTrips[steps] = {
      perStep: (after.total - before.total) / totalSteps,
      appendsPerStep: appends / totalSteps,
      perAppend: (after.duringAppends - before.duringAppends) / appends,
    }
  }
}
await subject.close()
printResult({
  runtime: options.runtime,
  store: options.store,
  ...(options.variant === undefined ? {} : { variant: options.variant }),
  warmupSteps,
  warmupMs,
  checked,
  perK,
  ...(Object.keys(roundTrips).length === 0 ? {} : { roundTrips }),
  ...(subject.database === undefined ? {} : { database: subject.database }),
})
