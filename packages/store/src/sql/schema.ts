import type { ColumnType } from 'kysely'

/** A bigint column: pg returns int8 as a string, SQLite as a number; both are read through `toNumber`. */
type Int8 = ColumnType<number | string, number, number>

/** The journal: one row per event, primary key (run_id, seq). */
export interface JournalTable {
  run_id: string
  seq: number
  type: string
  at: Int8
  /** The event as JSON text (text, not jsonb: exact round trips, and parsing happens in one place). */
  data: string
}

/** The latest snapshot of each run. */
export interface SnapshotsTable {
  run_id: string
  seq: number
  schema_version: number
  at: Int8
  state: string
}

/** The runs index; JSON fields are JSON text. */
export interface RunsTable {
  run_id: string
  agent_id: string
  session_id: string | null
  parent_run_id: string | null
  idempotency_key: string | null
  status: string
  pending: string
  answer: string
  error: string
  metadata: string
  created_at: Int8
  updated_at: Int8
}

/** One lease row per run; `owner_id` is null once released, and `epoch` only grows. */
export interface LeasesTable {
  run_id: string
  owner_id: string | null
  epoch: number
  expires_at: Int8
}

/** Session heads: the version (one per write) and how many message rows follow. */
export interface SessionsTable {
  session_id: string
  version: number
  message_count: number
  updated_at: Int8
}

/** Session messages, one row each, so an append writes only the new messages. */
export interface SessionMessagesTable {
  session_id: string
  position: number
  message: string
}

/** The runs whose turn has been appended to a session (`appendSession` with `runId`). */
export interface SessionTurnsTable {
  session_id: string
  run_id: string
}

/** The tables of a Vel store, as Kysely sees them. */
export interface Database {
  journal: JournalTable
  snapshots: SnapshotsTable
  runs: RunsTable
  leases: LeasesTable
  sessions: SessionsTable
  session_messages: SessionMessagesTable
  session_turns: SessionTurnsTable
}
