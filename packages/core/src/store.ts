import type { SerializedError } from './errors.ts'
import type { JsonObject, JsonValue } from './json.ts'
import type { Message } from './messages.ts'

/** An event to append to a run's journal. */
export interface JournalEntryInput {
  /** The event type, e.g. `model.responded`. */
  readonly type: string
  /** The event itself (plain JSON). */
  readonly data: JsonValue
  /** Epoch milliseconds; the store's clock when omitted. */
  readonly at?: number
}

/** A journaled event. `seq` starts at 1 and has no gaps within a run. */
export interface JournalEntry {
  readonly runId: string
  readonly seq: number
  readonly type: string
  readonly at: number
  readonly data: JsonValue
}

/** Options of `Store.append`. */
export interface AppendOptions {
  /** Fences the write: it fails with `fenced` unless this is the run's current lease (owner and epoch). */
  readonly lease?: Pick<Lease, 'ownerId' | 'epoch'>
  /**
   * Also stores this state as the snapshot at the new last seq, atomically with the entries and in
   * the same round trip where the database allows it (one statement or pipeline on Postgres).
   */
  readonly snapshot?: { readonly state: JsonValue; readonly schemaVersion: number }
  /**
   * Also applies this patch to the run's index row (as `updateRun` would, `updatedAt` the store's
   * clock), atomically with the entries and in the same round trip. The append fails with
   * `not-found` and writes nothing if the run has no index row; a refused append (`conflict`,
   * `fenced`, a bad patch: `invalid-argument`) leaves the row as it was.
   */
  readonly run?: RunPatch
  /**
   * Also appends these messages to the session as the appended run's turn, atomically with the
   * entries and in the same round trip: what `appendSession(sessionId, messages, undefined,
   * { runId })` does, so a turn written before changes nothing (the entries are still appended). A
   * refused append writes no turn; a bad session id or a message JSON cannot represent is
   * `invalid-argument`, and nothing is written. How a run ends: its last entry, its final index
   * row (`run`) and its session turn in one write. The runtime passes it only to a store whose
   * `features.sessionTurn` is true.
   */
  readonly session?: SessionTurn
}

/** A run's turn in its session, written with the run's last entry (`AppendOptions.session`). */
export interface SessionTurn {
  readonly sessionId: string
  readonly messages: ReadonlyArray<Message>
}

/** The latest state of a run at a journal position: a cache, rebuildable from the journal. */
export interface Snapshot {
  readonly runId: string
  /** The journal seq the state includes (entries after it must be replayed). */
  readonly seq: number
  readonly state: JsonValue
  /** Version of the state's shape, so old snapshots can be upgraded on load. */
  readonly schemaVersion: number
  readonly at: number
}

/**
 * Run status as indexed by the store. `waiting`: paused for a human; holds no memory.
 * `corrupted`: its stored data failed a check (snapshot against journal, a gap, an event the reducer
 * rejects, an index row that does not decode); nothing runs for it until an operator repairs it.
 */
export type RunStatus = 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled' | 'corrupted'

export const terminalStatuses: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled'])

/** One row of the runs index. */
export interface RunRecord {
  readonly runId: string
  readonly agentId: string
  readonly sessionId: string | null
  readonly parentRunId: string | null
  /** Caller-supplied key that makes triggers idempotent; unique per agent. */
  readonly idempotencyKey: string | null
  readonly status: RunStatus
  /** Pending approval and human-contact requests while `waiting` (plain JSON). */
  readonly pending: ReadonlyArray<JsonValue>
  /** The answer once `completed`. */
  readonly answer: JsonValue | null
  /** The error once `failed`. */
  readonly error: SerializedError | null
  /** Application data (e.g. the principal that started the run). */
  readonly metadata: JsonObject
  readonly createdAt: number
  readonly updatedAt: number
}

export type NewRun = Pick<RunRecord, 'runId' | 'agentId'> &
  Partial<Pick<RunRecord, 'sessionId' | 'parentRunId' | 'idempotencyKey' | 'status' | 'metadata'>> & {
    /**
     * One unfinished run per session: with a `sessionId`, the run is created only if no other run
     * of that session is `running` or `waiting`, decided atomically with the insert (two callers
     * racing for a free session: at most one is created). Otherwise nothing is written and
     * `createRun` fails with `busy`. Not stored.
     */
    readonly claimSession?: boolean
    /**
     * With `claimSession`: the session must also be at this version (0: no session yet), the one
     * the caller read the session's history at; otherwise nothing is written and `createRun` fails
     * with `busy`, as for an unfinished run. Lets a run's start, with that history, be journaled
     * in the same write (`entries`). Not stored.
     */
    readonly sessionVersion?: number
    /**
     * Takes the run's first lease in the same write as the row (one round trip on Postgres, one
     * commit on SQLite), so no one ever sees the run unowned. The lease follows `acquireLease`'s
     * rules; if another owner holds a live lease under this run id, nothing is written and
     * `createRun` fails with `conflict`. The lease comes back on the record.
     */
    readonly lease?: { readonly ownerId: string; readonly ttlMs: number }
    /**
     * The run's first journal entries (seq 1, 2, ...), written in the same write as the row and its
     * lease (so only with `lease`; without, `invalid-argument`), or not at all: the runtime journals a run's `run.started` this way when it has no
     * session to read first, so such a run starts with one write. If the run's journal is not
     * empty, nothing is written and `createRun` fails with `conflict`. The record then carries
     * `seq`, the journal's last seq. A store that takes `entries` honours `sessionVersion`.
     */
    readonly entries?: ReadonlyArray<JournalEntryInput>
  }

/**
 * What `createRun` returns: the new row, its lease when `NewRun.lease` asked for one, and the
 * journal's last seq when `NewRun.entries` were written (a store that predates the field returns
 * none, and its caller appends them itself).
 */
export interface CreatedRun extends RunRecord {
  readonly lease?: Lease
  readonly seq?: number
}

export type RunPatch = Partial<Pick<RunRecord, 'status' | 'pending' | 'answer' | 'error' | 'metadata'>>

/** Filters for `listRuns`; all given filters must match. */
export interface RunFilter {
  readonly status?: RunStatus | ReadonlyArray<RunStatus>
  readonly agentId?: string
  readonly sessionId?: string
  readonly parentRunId?: string
}

export interface Page<T> {
  readonly items: ReadonlyArray<T>
  /** Pass to the next call to continue; absent on the last page. */
  readonly nextCursor?: string
}

/** Ownership of a run by one worker. `epoch` grows with every new owner and fences stale writers. */
export interface Lease {
  readonly runId: string
  readonly ownerId: string
  readonly epoch: number
  readonly expiresAt: number
}

/** Conversation history shared by the runs of one session. `version` grows by one per write. */
export interface SessionRecord {
  readonly sessionId: string
  readonly messages: ReadonlyArray<Message>
  readonly version: number
  readonly updatedAt: number
}

/**
 * Optional parts of the `Store` contract a store says it implements, so the runtime uses them; a
 * store written before one lacks its flag, and the runtime takes the older way.
 */
export interface StoreFeatures {
  /** `append` honours `AppendOptions.session` (ADR 0127). */
  readonly sessionTurn?: boolean
}

/**
 * Where runs live: the journal (source of truth), snapshots (a cache of state), the runs index,
 * leases and sessions. Memory, SQLite and Postgres implement it and pass one conformance suite.
 * Every failure is a `StoreError`; a failed write changes nothing.
 */
export interface Store {
  /**
   * What this store implements beyond the required contract. A wrapper that forwards `append`
   * with its options untouched may copy it; one that rebuilds the options must not.
   */
  readonly features?: StoreFeatures
  /** Creates or upgrades the schema. Idempotent; fails with `schema-too-new` for a newer database. */
  migrate(): Promise<void>
  /** Releases connections. Further calls fail with `closed`. */
  close(): Promise<void>

  /**
   * Appends entries atomically after `expectedSeq` (the seq of the last entry the writer has seen,
   * 0 for none) and returns the new last seq. Fails with `conflict` if the journal moved on, and with
   * `fenced` if `lease` is given and is no longer the run's current lease (owner and epoch).
   */
  append(
    runId: string,
    entries: ReadonlyArray<JournalEntryInput>,
    expectedSeq: number,
    options?: AppendOptions,
  ): Promise<number>
  /** Entries after `afterSeq` (default 0), in order, at most `limit`. */
  read(
    runId: string,
    options?: { readonly afterSeq?: number; readonly limit?: number },
  ): Promise<JournalEntry[]>
  /** Seq of the last entry, 0 for none. */
  lastSeq(runId: string): Promise<number>

  /** Stores the state at `seq`; the highest seq wins. */
  putSnapshot(runId: string, seq: number, state: JsonValue, schemaVersion: number): Promise<void>
  getSnapshot(runId: string): Promise<Snapshot | undefined>
  /** Deletes journal entries with seq <= `throughSeq` if a snapshot covers them; returns how many. */
  pruneJournal(runId: string, throughSeq: number): Promise<number>

  /**
   * Creates a run; `conflict` if the id, or the agent's idempotency key, exists; `busy` if it
   * `claimSession`s a session that another unfinished run holds (then `listRuns` finds the holder).
   * With `run.lease`, the lease is taken atomically with the row and returned on the record.
   */
  createRun(run: NewRun): Promise<CreatedRun>
  getRun(runId: string): Promise<RunRecord | undefined>
  findRunByIdempotencyKey(agentId: string, idempotencyKey: string): Promise<RunRecord | undefined>
  /** Updates a run's index row; `not-found` if absent. */
  updateRun(runId: string, patch: RunPatch): Promise<RunRecord>
  /**
   * Newest first (createdAt, then runId), with an opaque cursor. Default limit 50. A row that does
   * not decode is listed with status `corrupted` and a `StoreError` in `error`, never thrown, so one
   * bad row cannot stop a listing (or `recover()`) for every other run.
   */
  listRuns(
    filter?: RunFilter,
    page?: { readonly cursor?: string; readonly limit?: number },
  ): Promise<Page<RunRecord>>
  /** Removes the run's journal, snapshots, index row and lease; nothing else. */
  deleteRun(runId: string): Promise<void>

  /** Takes the lease if free, expired, or already held by `ownerId` (then renewed, same epoch). */
  acquireLease(runId: string, ownerId: string, ttlMs: number): Promise<Lease | undefined>
  /** Extends a lease still held; undefined if it was lost. */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>
  releaseLease(lease: Lease): Promise<void>
  getLease(runId: string): Promise<Lease | undefined>

  getSession(sessionId: string): Promise<SessionRecord | undefined>
  /**
   * Appends messages atomically; with `expectedVersion`, `conflict` unless it matches. Returns the
   * new version. With `runId`, the append is one run's turn and happens at most once: a second call
   * with the same `runId` changes nothing and returns the current version (so a run that crashed
   * around its session write can safely write again).
   */
  appendSession(
    sessionId: string,
    messages: ReadonlyArray<Message>,
    expectedVersion?: number,
    options?: { readonly runId?: string },
  ): Promise<number>
  /** Replaces the history if the version matches (0 for a new session); returns the new version. */
  replaceSession(
    sessionId: string,
    messages: ReadonlyArray<Message>,
    expectedVersion: number,
  ): Promise<number>
  deleteSession(sessionId: string): Promise<void>
}
