/**
 * The approvals workload of the runner (`--only=approvals`): many runs waiting for approval in one
 * process, on the memory store and on SQLite, one fresh process each; and its section and target
 * rows of the report.
 */
import type { ApprovalsResult } from './approvals.ts'
import { measure } from './runner.ts'

export interface ApprovalsSettings {
  waiting: number
  approvals: number
  concurrency: number
  warmup: number
}

export const approvalsSettings = (quick: boolean): ApprovalsSettings =>
  quick
    ? { waiting: 2_000, approvals: 100, concurrency: 200, warmup: 100 }
    : { waiting: 100_000, approvals: 1_000, concurrency: 200, warmup: 500 }

export interface ApprovalsReport {
  settings: ApprovalsSettings
  results: Record<string, ApprovalsResult>
}

export async function runApprovals(
  quick: boolean,
  dir: string,
  log: (message: string) => void,
): Promise<ApprovalsReport> {
  const settings = approvalsSettings(quick)
  const results: Record<string, ApprovalsResult> = {}
  for (const store of ['memory', 'sqlite'] as const) {
    log(`approvals: ${settings.waiting} runs waiting, ${store} store`)
    results[store] = await measure<ApprovalsResult>('approvals.ts', { store, dir, ...settings })
  }
  return { settings, results }
}

/** Whether every approved run answered and every sampled run was waiting. */
export const approvalsCorrect = (report: ApprovalsReport): boolean =>
  Object.values(report.results).every(
    (result) => result.answered === report.settings.approvals && result.checkedWaiting >= result.approvals,
  )

type Format = (value: number, digits?: number) => string

/** The report's approvals section. */
export function approvalsSection(report: ApprovalsReport, format: Format): string[] {
  const s = report.settings
  const lines = [
    `## Approvals: ${format(s.waiting, 0)} runs waiting in one process, ${format(s.approvals, 0)} approved at random`,
    '',
    'Each run (K = 1) asks for approval of `add(1, 1)` and leaves memory; heap after a full GC once all wait. "runtime" is what dropping the runtime frees (the rest is the store’s data and the baseline); "next step" is `approve` to the approved tool’s handler starting, one approval at a time.',
    '',
    '| store | heap MB in all | baseline MB | bytes per waiting run | of which the runtime’s | next step p50 ms | p90 | p99 | answer p50 ms | runs to waiting s |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const [store, result] of Object.entries(report.results))
    lines.push(
      `| ${store} | ${format(result.heap.totalMB)} | ${format(result.heap.baselineMB)} | ${format(result.heap.bytesPerWaitingRun, 0)} | ${format(result.heap.runtimeBytesPerWaitingRun, 0)} | ${format(result.toNextStepMs.p50)} | ${format(result.toNextStepMs.p90)} | ${format(result.toNextStepMs.p99)} | ${format(result.toAnswerMs.p50)} | ${format(result.spawnSeconds, 1)} |`,
    )
  lines.push('')
  return lines
}

/** The report's target rows for approvals. */
export function approvalsTargets(report: ApprovalsReport, format: Format): string[] {
  const met = (ok: boolean) => (ok ? 'met' : '**missed**')
  const rows: string[] = []
  const waiting = format(report.settings.waiting, 0)
  for (const [store, result] of Object.entries(report.results)) {
    rows.push(
      `| ${waiting} runs waiting for approval, heap ≤ 200 MB (${store}) | ${format(result.heap.totalMB, 0)} MB | ${met(result.heap.totalMB <= 200)} |`,
      `| approving at random, p50 ≤ 5 ms to the run’s next step (${store}) | ${format(result.toNextStepMs.p50)} ms | ${met(result.toNextStepMs.p50 <= 5)} |`,
    )
  }
  return rows
}
