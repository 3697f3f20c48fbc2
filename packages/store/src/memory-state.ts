/**
 * A run's journal as the memory store keeps it: one column per field (an entry is three array
 * slots, not an object), the entry at index `i` having seq `first + i` (seqs are gap-free). `data`
 * holds compact text (`encodeCompact`), so nobody can mutate a stored entry. The columns grow in
 * place while the run steps and are replaced by exact-size copies once it stops (ADR 0105).
 */
export interface MemoryJournal {
  /** The seq of the entry at index 0 (pruning moves it on). */
  first: number
  types: string[]
  ats: number[]
  data: string[]
}

/**
 * A run's latest snapshot: the state as JSON text while the run steps, as compact text
 * (`compactJson`) once it stops (finished or parked waiting, ADR 0105).
 */
export interface MemorySnapshot {
  readonly seq: number
  state: string
  readonly schemaVersion: number
  readonly at: number
}

/** A lease row; `ownerId` is null once released (the epoch is kept so it keeps growing). */
export interface MemoryLease {
  readonly ownerId: string | null
  readonly epoch: number
  readonly expiresAt: number
}

/** A session: one compact text per message, appended in place (never rewritten on append). */
export interface MemorySession {
  version: number
  updatedAt: number
  messages: string[]
  /** The runs whose turn has been appended (`appendSession` with `runId`), so a repeat is a no-op. */
  turns: string[]
}

/**
 * `column` with `values` after it. Up to `exactUpTo` items the result is a new array of exactly that
 * size (a pushed array keeps room for 16 more, which for a short journal or session costs more
 * heap than its data); longer columns grow in place.
 */
export const appended = <T>(column: T[], values: ReadonlyArray<T>, exactUpTo = 64): T[] => {
  if (column.length + values.length <= exactUpTo) return column.concat(values)
  column.push(...values)
  return column
}

/**
 * The data behind memory stores. Several `createMemoryStore({ state })` instances sharing one
 * state behave like several connections to one database.
 */
export interface MemoryState {
  /** Journal entries per run, ascending and gap-free (the head is never pruned). */
  readonly journals: Map<string, MemoryJournal>
  readonly snapshots: Map<string, MemorySnapshot>
  /** Run records as JSON text, by run id. */
  readonly runs: Map<string, string>
  /** Run id by `agentId + NUL + idempotencyKey`. */
  readonly idempotencyKeys: Map<string, string>
  readonly leases: Map<string, MemoryLease>
  readonly sessions: Map<string, MemorySession>
  /** Run ids by session id: the index `listRuns({ sessionId })` reads instead of every run. */
  readonly sessionRuns: Map<string, string[]>
}

/** Creates an empty memory state. */
export const createMemoryState = (): MemoryState => ({
  journals: new Map(),
  snapshots: new Map(),
  runs: new Map(),
  idempotencyKeys: new Map(),
  leases: new Map(),
  sessions: new Map(),
  sessionRuns: new Map(),
})
