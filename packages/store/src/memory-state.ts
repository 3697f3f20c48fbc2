/** A journal entry as the memory store keeps it: `data` stays JSON text so nobody can mutate it. */
export interface MemoryEntry {
  readonly seq: number
  readonly type: string
  readonly at: number
  data: string
}

/** A run's latest snapshot, with the state as JSON text. */
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

/** A session: one JSON text per message, appended in place (never rewritten on append). */
export interface MemorySession {
  version: number
  updatedAt: number
  readonly messages: string[]
  /** The runs whose turn has been appended (`appendSession` with `runId`), so a repeat is a no-op. */
  readonly turns: Set<string>
}

/**
 * The data behind memory stores. Several `createMemoryStore({ state })` instances sharing one
 * state behave like several connections to one database.
 */
export interface MemoryState {
  /** Journal entries per run, ascending and gap-free (the head is never pruned). */
  readonly journals: Map<string, MemoryEntry[]>
  readonly snapshots: Map<string, MemorySnapshot>
  /** Run records as JSON text, by run id. */
  readonly runs: Map<string, string>
  /** Run id by `agentId + NUL + idempotencyKey`. */
  readonly idempotencyKeys: Map<string, string>
  readonly leases: Map<string, MemoryLease>
  readonly sessions: Map<string, MemorySession>
}

/** Creates an empty memory state. */
export const createMemoryState = (): MemoryState => ({
  journals: new Map(),
  snapshots: new Map(),
  runs: new Map(),
  idempotencyKeys: new Map(),
  leases: new Map(),
  sessions: new Map(),
})
