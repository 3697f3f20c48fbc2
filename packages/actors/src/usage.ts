import {
  addUsage,
  costOf,
  emptyUsage,
  type RunFilter,
  type RunRecord,
  type RunState,
  type Usage,
} from '@vel/core'
import type { Runtime } from './runtime-types.ts'

/** Tokens and cost summed over some runs. */
export interface UsageSummary {
  /** How many runs are summed. */
  readonly runs: number
  readonly usage: Usage
  /** Dollars over the runs whose model has a price (see `unpricedRuns`). */
  readonly costUsd: number
  /** Runs whose model the price table does not list: their tokens count, their cost is unknown. */
  readonly unpricedRuns: number
}

/** A run's own usage and cost, and its pipeline tree's (the run and every run below it). */
export interface RunUsage {
  /** Undefined when the run's model has no price. */
  readonly costUsd: number | undefined
  readonly usage: Usage
  /** The run plus its children, their children, ...: what the run cost with everything it started. */
  readonly tree: UsageSummary
}

/** The cost of a run's usage at its journaled price, or undefined when it has none. */
export const costOfRun = (state: RunState): number | undefined =>
  state.policy.price === undefined ? undefined : costOf(state.usage, state.policy.price)

const emptySummary: UsageSummary = { runs: 0, usage: emptyUsage(), costUsd: 0, unpricedRuns: 0 }

const add = (summary: UsageSummary, state: RunState): UsageSummary => {
  const cost = costOfRun(state)
  return {
    runs: summary.runs + 1,
    usage: addUsage(summary.usage, state.usage),
    costUsd: summary.costUsd + (cost ?? 0),
    unpricedRuns: summary.unpricedRuns + (cost === undefined ? 1 : 0),
  }
}

/** Every run `filter` matches (and `include` lets through), page by page. */
async function* runsOf(
  runtime: Runtime,
  filter: RunFilter,
  include?: (record: RunRecord) => boolean | Promise<boolean>,
): AsyncGenerator<string> {
  let cursor: string | undefined
  do {
    const page = await runtime.list(filter, cursor === undefined ? { limit: 200 } : { cursor, limit: 200 })
    for (const record of page.items)
      if (record.status !== 'corrupted' && (include === undefined || (await include(record))))
        yield record.runId
    cursor = page.nextCursor
  } while (cursor !== undefined)
}

/**
 * A run's usage and cost, with its tree's: each child run (linked by `parentRunId`) is read from its
 * own journal, so what a child spent is charged to every run above it whatever the child reports.
 */
export async function runUsage(runtime: Runtime, runId: string): Promise<RunUsage> {
  const { state } = await runtime.get(runId)
  let tree = add(emptySummary, state)
  const seen = new Set([runId])
  const queue = [runId]
  while (queue.length > 0) {
    const parent = queue.shift() as string
    for await (const child of runsOf(runtime, { parentRunId: parent })) {
      if (seen.has(child)) continue
      seen.add(child)
      tree = add(tree, (await runtime.get(child)).state)
      queue.push(child)
    }
  }
  return { costUsd: costOfRun(state), usage: state.usage, tree }
}

/**
 * Usage and cost summed over the runs a filter selects: per agent (`{ agentId }`), per session
 * (`{ sessionId }`), per status, or all; `include` narrows further (e.g. to what a caller may see).
 * Each run counts its own calls once (children are runs of their own agents). Reads each run's
 * state: meant for reports, not hot paths.
 */
export async function usageOf(
  runtime: Runtime,
  filter: RunFilter = {},
  include?: (record: RunRecord) => boolean | Promise<boolean>,
): Promise<UsageSummary> {
  let summary = emptySummary
  for await (const runId of runsOf(runtime, filter, include))
    summary = add(summary, (await runtime.get(runId)).state)
  return summary
}
