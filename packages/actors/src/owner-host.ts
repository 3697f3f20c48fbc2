import type { Lease, RunEvent, RunRecord, RunState, Store } from '@vel/core'
import type { ResolvedAgent } from './agent-resolve.ts'
import type { Bus } from './bus.ts'
import type { Outlet } from './outlet.ts'
import type { RunObserver } from './run-observer.ts'
import type { RunOutcome } from './run-outcome.ts'
import type { RunOwner } from './run-owner.ts'

/** A run taken from the store by this process: its lease, agent, state and journal position. */
export interface AcquiredRun {
  readonly lease: Lease
  readonly agent: ResolvedAgent
  readonly record: RunRecord
  readonly state: RunState
  readonly seq: number
}

/** What a run's owner needs from its runtime. */
export interface OwnerHost {
  readonly store: Store
  readonly bus: Bus
  readonly now: () => number
  /** Handed to tools as `context.runtime` (agents used as tools start child runs through it). */
  readonly runtime: unknown
  /** The run's outlet in this process. */
  outlet(runId: string): Outlet
  agent(runId: string, agentId: string): Promise<ResolvedAgent>
  /** Takes the run's lease and loads it (checked against the journal); throws if another worker holds it. */
  acquire(runId: string): Promise<AcquiredRun>
  /** The owner holds the run no more: drop it from the table. */
  released(owner: RunOwner): void
  /** The run ended: settle the handles waiting for it. */
  settle(runId: string, outcome: RunOutcome): void
  /** Delivers a caller's event to whoever owns the run now (after this owner let go). */
  redeliver(runId: string, event: RunEvent): Promise<void>
  scheduleExpiry(runId: string, requestId: string, expiresAt: number): void
  clearExpiries(runId: string): void
  /**
   * For a run its caller steers: resolves true once the caller has read the call's input and asked
   * for more, false if the caller stopped reading first. Undefined for runs nobody steers.
   */
  steered(runId: string, toolCallId: string): Promise<boolean> | undefined
  /** Follows a run this process takes up again (woken, recovered) for traces and metrics. */
  observe(state: RunState, agent: ResolvedAgent): RunObserver
  /** Errors with no caller to go to. */
  report(error: unknown, runId: string): void
}
