/**
 * The NATS workloads of the runner (`--only=nats`): trigger to first part (memory and Postgres
 * stores) and NATS + Postgres throughput with 1 and 2 worker processes, each in fresh processes,
 * interleaved; and their section and target rows of the report.
 */
import type { NatsLatencyResult } from './nats-latency.ts'
import type { NatsThroughputResult } from './nats-throughput.ts'
import { measure } from './runner.ts'
import { type Spread, spread } from './stats.ts'

export interface NatsSettings {
  processes: number
  latencyRuns: number
  latencyWarmupRuns: number
  throughputRuns: number
  throughputWarmupRuns: number
}

export const natsSettings = (quick: boolean): NatsSettings =>
  quick
    ? { processes: 1, latencyRuns: 100, latencyWarmupRuns: 50, throughputRuns: 300, throughputWarmupRuns: 50 }
    : {
        processes: 3,
        latencyRuns: 1_000,
        latencyWarmupRuns: 300,
        throughputRuns: 3_000,
        throughputWarmupRuns: 300,
      }

export interface NatsReport {
  /** Why the workloads did not run (a server was unreachable), if they did not. */
  skipped?: string
  settings: NatsSettings
  latency: Record<
    string,
    { runs: number; firstPartP50Ms: Spread; firstPartP99Ms: Spread; finishP50Ms: Spread; floorP50Ms: Spread }
  >
  throughput: Record<
    string,
    {
      runs: number
      runsPerSecond: Spread
      latencyP50Ms: Spread
      workerCpuMsPerRun: Spread
      duplicated: number
      missing: number
      completedInStore: number
      perWorker: number[][]
    }
  >
}

const concurrency = 100

export async function runNatsWorkloads(quick: boolean, log: (message: string) => void): Promise<NatsReport> {
  const settings = natsSettings(quick)
  const report: NatsReport = { settings, latency: {}, throughput: {} }
  const latency: Record<string, NatsLatencyResult[]> = {}
  const throughput: Record<string, NatsThroughputResult[]> = {}
  for (let round = 0; round < settings.processes; round++) {
    for (const [store, caller] of [
      ['memory', 'nats'],
      ['postgres', 'nats'],
      ['memory', 'client'],
    ] as const) {
      const key = caller === 'client' ? `${store}, JS client` : store
      log(`NATS trigger → first part, ${key}, process ${round + 1}/${settings.processes}`)
      const result = await measure<NatsLatencyResult>('nats-latency.ts', {
        store,
        caller,
        runs: settings.latencyRuns,
        warmupRuns: settings.latencyWarmupRuns,
      })
      if (result.skipped !== undefined) return { ...report, skipped: result.skipped }
      latency[key] = [...(latency[key] ?? []), result]
    }
    for (const workers of [1, 2]) {
      log(`NATS + Postgres, ${workers} worker process(es), process ${round + 1}/${settings.processes}`)
      const result = await measure<NatsThroughputResult>('nats-throughput.ts', {
        workers,
        runs: settings.throughputRuns,
        warmupRuns: settings.throughputWarmupRuns,
        concurrency,
      })
      if (result.skipped !== undefined) return { ...report, skipped: result.skipped }
      const key = `${workers} worker${workers === 1 ? '' : 's'}`
      throughput[key] = [...(throughput[key] ?? []), result]
    }
  }
  for (const [store, results] of Object.entries(latency))
    report.latency[store] = {
      runs: results.reduce((sum, result) => sum + result.checked, 0),
      firstPartP50Ms: spread(results.map((result) => result.firstPartMs.p50)),
      firstPartP99Ms: spread(results.map((result) => result.firstPartMs.p99)),
      finishP50Ms: spread(results.map((result) => result.finishMs.p50)),
      floorP50Ms: spread(results.map((result) => result.floorRoundTripMs.p50)),
    }
  for (const [key, results] of Object.entries(throughput))
    report.throughput[key] = {
      runs: results.reduce((sum, result) => sum + result.runs, 0),
      runsPerSecond: spread(results.map((result) => result.runsPerSecond)),
      latencyP50Ms: spread(results.map((result) => result.latencyMs.p50)),
      workerCpuMsPerRun: spread(results.map((result) => result.workerCpuMsPerRun)),
      duplicated: results.reduce((sum, result) => sum + result.duplicated, 0),
      missing: results.reduce((sum, result) => sum + result.missing, 0),
      completedInStore: results.reduce((sum, result) => sum + result.completedInStore, 0),
      perWorker: results.map((result) => result.perWorker),
    }
  return report
}

/** Whether the NATS workloads checked out: every run ran exactly once and is stored as completed. */
export const natsCorrect = (report: NatsReport): boolean =>
  Object.values(report.throughput).every(
    (figures) =>
      figures.duplicated === 0 &&
      figures.missing === 0 &&
      figures.completedInStore ===
        figures.runs + figures.perWorker.length * report.settings.throughputWarmupRuns,
  )

type Format = (value: Spread | undefined, digits?: number) => string

/** The report's NATS section. */
export function natsSection(report: NatsReport, cell: Format): string[] {
  if (report.skipped !== undefined) return ['## NATS', '', `Skipped: ${report.skipped}.`, '']
  const s = report.settings
  const lines = [
    `## NATS: trigger to first part (${s.latencyRuns} 1-step runs per process, one at a time, after ${s.latencyWarmupRuns})`,
    '',
    'A caller speaking plain NATS (as a non-JS client does) subscribes to the run’s events, flushes, publishes the trigger with a reply subject; ms from that publish to the first stream part. The JS client row is `createNatsClient`: from `trigger()` called to the first part `events()` yields. The floor is a raw request/reply round trip on the same two connections.',
    '',
    '| store, caller | first part p50 ms | first part p99 ms | finish p50 ms | floor round trip p50 ms | runs checked |',
    '|---|---|---|---|---|---|',
  ]
  for (const [store, figures] of Object.entries(report.latency))
    lines.push(
      `| ${store} | ${cell(figures.firstPartP50Ms)} | ${cell(figures.firstPartP99Ms)} | ${cell(figures.finishP50Ms)} | ${cell(figures.floorP50Ms)} | ${figures.runs} |`,
    )
  lines.push(
    '',
    `## NATS + Postgres: 1-step runs, worker processes sharing one database (${s.throughputRuns} runs per process after ${s.throughputWarmupRuns}, ${concurrency} in flight)`,
    '',
    '| worker processes | runs/s | latency p50 ms | worker CPU ms per run | runs per worker | each run ran once | stored as completed |',
    '|---|---|---|---|---|---|---|',
  )
  for (const [key, figures] of Object.entries(report.throughput))
    lines.push(
      `| ${key} | ${cell(figures.runsPerSecond, 0)} | ${cell(figures.latencyP50Ms, 0)} | ${cell(figures.workerCpuMsPerRun)} | ${figures.perWorker.map((split) => split.join(' + ')).join('; ')} | ${figures.duplicated === 0 && figures.missing === 0 ? 'yes' : `NO (${figures.duplicated} twice, ${figures.missing} never)`} | ${figures.completedInStore} |`,
    )
  const one = report.throughput['1 worker']?.runsPerSecond.median
  const two = report.throughput['2 workers']?.runsPerSecond.median
  if (one !== undefined && two !== undefined)
    lines.push('', `Scaling, 2 workers / 1 worker: ${(two / one).toFixed(2)}×.`)
  lines.push('')
  return lines
}

/** The report's target rows for NATS. */
export function natsTargets(
  report: NatsReport,
  format: (value: number, digits?: number) => string,
): string[] {
  if (report.skipped !== undefined) return ['| NATS targets | skipped (servers unreachable) | |']
  const met = (ok: boolean) => (ok ? 'met' : '**missed**')
  const rows: string[] = []
  for (const [store, figures] of Object.entries(report.latency)) {
    const p50 = figures.firstPartP50Ms.median
    const p99 = figures.firstPartP99Ms.median
    rows.push(
      `| NATS trigger → first part (${store}), p50 ≤ 2 ms / p99 ≤ 10 ms | ${format(p50)} / ${format(p99)} ms | ${met(p50 <= 2 && p99 <= 10)} |`,
    )
  }
  for (const [key, figures] of Object.entries(report.throughput)) {
    const rate = figures.runsPerSecond.median
    rows.push(`| NATS + Postgres ≥ 1,000 runs/s, ${key} | ${format(rate, 0)} | ${met(rate >= 1_000)} |`)
  }
  return rows
}
