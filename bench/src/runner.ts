/**
 * Spawns each measurement in a fresh process (`node --expose-gc --import tsx src/<workload>.ts`,
 * or plain `node` on the compiled build for W3's `compiled` rows) and reads its single `RESULT`
 * line. Used by the runner (`main.ts`) and the quick test.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Build, childCommand, prepareCompiled } from './compiled.ts'
import type { RuntimeName, Variant } from './subject.ts'
import type { StoreKind } from './vel.ts'

export const benchDir = fileURLToPath(new URL('..', import.meta.url))

interface ChildOutcome {
  result: unknown
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

/** Runs `src/<script>` with JSON options; returns its `RESULT` (or undefined) and how it ended. */
export function runChild(script: string, options: object, build: Build = 'tsx'): Promise<ChildOutcome> {
  const { args, env } = childCommand(benchDir, script, build)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, JSON.stringify(options)], {
      cwd: benchDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '))
      resolve({
        result: line === undefined ? undefined : JSON.parse(line.slice('RESULT '.length)),
        code,
        signal,
        stderr,
      })
    })
  })
}

/** Runs a measuring child that must succeed. */
export async function measure<T>(script: string, options: object, build: Build = 'tsx'): Promise<T> {
  const outcome = await runChild(script, options, build)
  if (outcome.code !== 0 || outcome.result === undefined)
    throw new Error(
      `${script} ${JSON.stringify(options)} failed (${outcome.code ?? outcome.signal}): ${outcome.stderr}`,
    )
  return outcome.result as T
}

export interface W1Result {
  runtime: RuntimeName
  store: StoreKind
  variant?: Variant
  warmupSteps: number
  warmupMs: number
  checked: number
  perK: Record<string, { median: number; min: number; max: number }>
  /** Postgres: round trips per step (all, journal appends per step, round trips per append). */
  roundTrips?: Record<string, { perStep: number; appendsPerStep: number; perAppend: number }>
  /** Postgres: the database the process created (and dropped). */
  database?: string
}

export interface W2Result {
  runtime: RuntimeName
  store: StoreKind
  sessions: number
  checked: number
  sessionsVerified: number
  runsPerSecond: number
  latencyMs: { p50: number; p90: number }
  retainedMBPer1k: { heapPlusExternal: number; rss: number; db: number }
  dbMB: number
  /** Postgres: server round trips per run. */
  roundTripsPerRun?: number
}

export interface CrashResult {
  runtime: RuntimeName
  /** How both processes ran: sources through tsx, or plain node on the compiled `dist/`. */
  build: Build
  at: 'model' | 'tool'
  answer: string
  expectedAnswer: string
  /** Every add(i, i) for i = 1..20 ran at least once. */
  allRan: boolean
  /** Tool invocations beyond one per i. */
  duplicates: number
  crashSignal: string | null
  /** Process B, ms since its process started: to its entry module (Node start-up, plus tsx's). */
  entryMs: number
  moduleLoadMs: number
  openMs: number
  firstStepMs: number
  /** CPU time (user + system) of process B to its first step: less distorted by a busy machine. */
  firstStepCpuMs?: number
  /** Where process B resolved `@vel/actors` (a `dist/` file for the compiled build). */
  velEntry?: string
}

/**
 * W3 (b): process A crashes (SIGKILL itself) at `at`; after the lease TTL a fresh process B
 * resumes. With the exit inside tool 10 (unsafe), Vel resolves call 10 as interrupted: the model
 * sees an error result for it, so its sum lacks 20 (`sum=400`) and add(10,10) ran exactly once.
 * `build: 'compiled'` (Vel only) runs both processes with plain node on the packages' `dist/`.
 */
export async function crashAndResume(
  runtime: RuntimeName,
  at: 'model' | 'tool',
  dir: string,
  index: number,
  build: Build = 'tsx',
): Promise<CrashResult> {
  if (build === 'compiled') {
    if (runtime !== 'vel') throw new Error(`W3 compiled build: Vel only, not ${runtime}`)
    await prepareCompiled(benchDir)
  }
  const base = join(dir, `w3-${runtime}-${build}-${at}-${index}`)
  const options = {
    runtime,
    at,
    db: `${base}.db`,
    log: `${base}.log`,
    runId: `crash-${index}`,
    leaseTtlMs: 100,
  }
  for (const suffix of ['.db', '.db-wal', '.db-shm', '.log']) rmSync(`${base}${suffix}`, { force: true })
  const crash = await runChild('w3-crash.ts', { ...options, mode: 'crash' }, build)
  if (crash.signal !== 'SIGKILL') throw new Error(`process A did not crash: ${crash.code} ${crash.stderr}`)
  await new Promise((resolve) => setTimeout(resolve, 3 * options.leaseTtlMs)) // the dead owner's lease expires
  const resumed = await measure<
    Omit<CrashResult, 'runtime' | 'build' | 'at' | 'allRan' | 'duplicates' | 'crashSignal' | 'expectedAnswer'>
  >('w3-crash.ts', { ...options, mode: 'resume' }, build)
  if (build === 'compiled' && !resumed.velEntry?.includes('/dist/'))
    throw new Error(`W3 compiled: process B loaded @vel/actors from ${resumed.velEntry}, not dist/`)
  const lines = existsSync(options.log) ? readFileSync(options.log, 'utf8').trim().split('\n') : []
  const counts = new Map<string, number>()
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1)
  let allRan = true
  for (let i = 1; i <= 20; i++) if (!counts.has(`add(${i},${i})`)) allRan = false
  const interruptedUnsafe = runtime === 'vel' && at === 'tool'
  return {
    runtime,
    build,
    at,
    ...resumed,
    expectedAnswer: interruptedUnsafe ? 'sum=400' : 'sum=420',
    allRan,
    duplicates: lines.length - counts.size,
    crashSignal: crash.signal,
  }
}
