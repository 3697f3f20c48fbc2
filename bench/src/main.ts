/**
 * `pnpm bench [--quick] [--only=w1,w2,w3,nats,approvals]`: runs the workloads of shared/BENCHMARKS.md for Vel,
 * the bare-loop floor and the peers (LangGraph.js, the Vercel AI SDK, the OpenAI Agents SDK),
 * interleaved, each measurement in fresh processes; prints one JSON line per workload
 * and writes bench/results/latest.md (quick mode: quick.md; raw figures in *.json, not committed).
 */
import { execSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { approvalsCorrect, runApprovals } from './approvals-bench.ts'
import { natsCorrect, runNatsWorkloads } from './nats-bench.ts'
import { postgresUnavailable } from './postgres.ts'
import { type Report, renderMarkdown } from './report.ts'
import {
  benchDir,
  type CrashResult,
  crashAndResume,
  measure,
  type W1Result,
  type W2Result,
} from './runner.ts'
import { spread } from './stats.ts'
import type { RuntimeName, Variant } from './subject.ts'
import type { StoreKind } from './vel.ts'

const quick = process.argv.includes('--quick')
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const wants = (workload: string) => only === undefined || only.includes(workload)

const settings = quick
  ? { processes: 1, runs: 10, warmupSteps: 600, warmupMs: 300, sessions: 1_000, crashRepeats: 1 }
  : { processes: 3, runs: 60, warmupSteps: 6_000, warmupMs: 3_000, sessions: 10_000, crashRepeats: 3 }
// W2 on Postgres: every append commits (18 round trips a run), so fewer sessions, or it takes minutes.
const postgresSessions = quick ? 200 : 2_000

// Vel on Postgres (VEL_POSTGRES_URL, default the local test server) runs when the server answers.
const postgresSkip = await postgresUnavailable()
if (postgresSkip !== undefined) process.stderr.write(`[bench] skipping vel/postgres: ${postgresSkip}\n`)

const configs: ReadonlyArray<{ runtime: RuntimeName; store: StoreKind }> = [
  { runtime: 'bare', store: 'memory' },
  { runtime: 'vel', store: 'memory' },
  { runtime: 'ai-sdk', store: 'memory' },
  { runtime: 'openai-agents', store: 'memory' },
  { runtime: 'langgraph', store: 'memory' },
  { runtime: 'vel', store: 'sqlite' },
  { runtime: 'langgraph', store: 'sqlite' },
  ...(postgresSkip === undefined ? [{ runtime: 'vel', store: 'postgres' } as const] : []),
]

/** W1 also measures Vel with an `async` tool handler (issue 16: the targets hold for both kinds). */
const w1Configs: ReadonlyArray<{ runtime: RuntimeName; store: StoreKind; variant?: Variant }> = [
  ...configs,
  { runtime: 'vel', store: 'memory', variant: 'async-tool' },
]

const versionOf = (path: string): string =>
  (JSON.parse(readFileSync(join(benchDir, path), 'utf8')) as { version: string }).version
const gitHead = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: benchDir }).toString().trim()
  } catch {
    return 'unknown'
  }
})()
const versions = {
  vel: `${versionOf('../packages/actors/package.json')} (${gitHead})`,
  '@langchain/langgraph': versionOf('node_modules/@langchain/langgraph/package.json'),
  '@langchain/langgraph-checkpoint-sqlite': versionOf(
    'node_modules/@langchain/langgraph-checkpoint-sqlite/package.json',
  ),
  '@langchain/core': versionOf('node_modules/@langchain/core/package.json'),
  ai: versionOf('node_modules/ai/package.json'),
  '@openai/agents': versionOf('node_modules/@openai/agents/package.json'),
}
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverageAtStart: loadavg()[0],
}

const dir = mkdtempSync(join(tmpdir(), 'vel-bench-'))
const started = Date.now()
const key = (config: { runtime: string; store: string; variant?: string }) =>
  `${config.runtime}/${config.store}${config.variant === 'async-tool' ? ' (async tool)' : ''}`
const log = (message: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${message}\n`)
const collect = <T>(into: Record<string, T[]>, name: string, value: T) => {
  const list = into[name] ?? []
  list.push(value)
  into[name] = list
}
const emit = (workload: string, figures: unknown) =>
  process.stdout.write(
    `${JSON.stringify({ workload, mode: quick ? 'quick' : 'full', versions, machine, ...(figures as object) })}\n`,
  )

const report: Report = {
  mode: quick ? 'quick' : 'full',
  settings,
  versions,
  machine,
  w1: {},
  w2: {},
  w3b: [],
}
try {
  if (wants('w1') || wants('w3')) {
    const raw: Record<string, W1Result[]> = {}
    for (let round = 0; round < settings.processes; round++)
      for (const config of w1Configs) {
        log(`W1 ${key(config)} process ${round + 1}/${settings.processes}`)
        const result = await measure<W1Result>('w1.ts', {
          ...config,
          dir,
          ks: [20, 5, 100],
          runs: settings.runs,
          warmupSteps: settings.warmupSteps,
          warmupMs: settings.warmupMs,
        })
        collect(raw, key(config), result)
      }
    for (const [name, results] of Object.entries(raw))
      report.w1[name] = {
        checkedRuns: results.reduce((sum, result) => sum + result.checked, 0),
        processes: results.length,
        perK: Object.fromEntries(
          ['5', '20', '100'].map((k) => [
            k,
            spread(results.map((result) => result.perK[k]?.median ?? Number.NaN)),
          ]),
        ),
        // Counts, the same in every process (one run at a time): the first process's.
        ...(results[0]?.roundTrips === undefined ? {} : { roundTrips: results[0].roundTrips }),
      }
    emit('W1', { unit: 'µs/step, median of per-process medians [min, max]', configurations: report.w1 })
  }
  if (wants('w2')) {
    const raw: Record<string, W2Result[]> = {}
    for (let round = 0; round < settings.processes; round++)
      for (const config of configs) {
        log(`W2 ${key(config)} process ${round + 1}/${settings.processes}`)
        const result = await measure<W2Result>('w2.ts', {
          ...config,
          dir,
          sessions: config.store === 'postgres' ? postgresSessions : settings.sessions,
          concurrency: 100,
          warmupSessions: 100,
        })
        collect(raw, key(config), result)
      }
    // Every session in flight at once (was a 10,000-concurrent-runs unit test): one Vel process.
    log(`W2 vel/memory, all ${settings.sessions} sessions at once`)
    collect(
      raw,
      'vel/memory (all at once)',
      await measure<W2Result>('w2.ts', {
        runtime: 'vel',
        store: 'memory',
        dir,
        sessions: settings.sessions,
        concurrency: settings.sessions,
        warmupSessions: 0,
      }),
    )
    for (const [name, results] of Object.entries(raw))
      report.w2[name] = {
        sessions: results[0]?.sessions ?? settings.sessions,
        checkedRuns: results.reduce((sum, result) => sum + result.checked, 0),
        sessionsVerified: results.reduce((sum, result) => sum + result.sessionsVerified, 0),
        runsPerSecond: spread(results.map((result) => result.runsPerSecond)),
        latencyP50Ms: spread(results.map((result) => result.latencyMs.p50)),
        latencyP90Ms: spread(results.map((result) => result.latencyMs.p90)),
        heapPlusExternalMBPer1k: spread(results.map((result) => result.retainedMBPer1k.heapPlusExternal)),
        rssMBPer1k: spread(results.map((result) => result.retainedMBPer1k.rss)),
        dbMBPer1k: spread(results.map((result) => result.retainedMBPer1k.db)),
        ...(results[0]?.roundTripsPerRun === undefined
          ? {}
          : { roundTripsPerRun: spread(results.map((result) => result.roundTripsPerRun ?? Number.NaN)) }),
      }
    emit('W2', { configurations: report.w2 })
  }
  if (wants('w3')) {
    const results: CrashResult[] = []
    for (let repeat = 0; repeat < settings.crashRepeats; repeat++)
      for (const at of ['model', 'tool'] as const)
        for (const [runtime, build] of [
          ['vel', 'compiled'],
          ['vel', 'tsx'],
          ['langgraph', 'tsx'],
        ] as const) {
          log(`W3 crash ${runtime} (${build}) at ${at} ${repeat + 1}/${settings.crashRepeats}`)
          results.push(await crashAndResume(runtime, at, dir, results.length, build))
        }
    report.w3b = results
    const difference = Object.fromEntries(
      (['vel', 'langgraph'] as const).map((runtime) => [
        runtime,
        Object.fromEntries(
          ['5', '20', '100'].map((k) => [
            k,
            (report.w1[`${runtime}/sqlite`]?.perK[k]?.median ?? Number.NaN) -
              (report.w1[`${runtime}/memory`]?.perK[k]?.median ?? Number.NaN),
          ]),
        ),
      ]),
    )
    emit('W3', { sqliteMinusMemoryMicrosPerStep: difference, crashResume: results })
  }
  if (wants('nats')) {
    report.nats = await runNatsWorkloads(quick, log)
    emit('NATS', report.nats)
  }
  if (wants('approvals')) {
    report.approvals = await runApprovals(quick, dir, log)
    emit('approvals', report.approvals)
  }
  report.machine = { ...machine, loadAverageAtEnd: loadavg()[0], wallSeconds: (Date.now() - started) / 1000 }
  const resultsDir = join(benchDir, 'results')
  mkdirSync(resultsDir, { recursive: true })
  // Quick (smoke) figures never replace the committed full-mode table.
  const name = quick ? 'quick' : 'latest'
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(join(resultsDir, `${name}.md`), renderMarkdown(report))
  log(`done; wrote bench/results/${name}.md`)
  const failed = report.w3b.filter((result) => result.answer !== result.expectedAnswer || !result.allRan)
  const unsafeTwice = report.w3b.filter((result) => result.runtime === 'vel' && result.duplicates > 0)
  if (failed.length > 0 || unsafeTwice.length > 0) {
    log(`correctness FAILED: ${JSON.stringify([...failed, ...unsafeTwice])}`)
    process.exitCode = 1
  }
  if (report.approvals !== undefined && !approvalsCorrect(report.approvals)) {
    log(`approvals correctness FAILED: ${JSON.stringify(report.approvals.results)}`)
    process.exitCode = 1
  }
  if (report.nats !== undefined && !natsCorrect(report.nats)) {
    log(`NATS correctness FAILED: ${JSON.stringify(report.nats.throughput)}`)
    process.exitCode = 1
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
