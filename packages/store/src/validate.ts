import {
  type JournalEntryInput,
  type Message,
  type RunFilter,
  type RunStatus,
  type SessionTurn,
  StoreError,
} from '@vel/core'

const statuses: ReadonlySet<RunStatus> = new Set([
  'running',
  'waiting',
  'completed',
  'failed',
  'cancelled',
  'corrupted',
])

const invalid = (message: string): never => {
  throw new StoreError('invalid-argument', message)
}

/** Checks an id (run, agent, session, owner): a non-empty string. */
export const checkId = (what: string, value: unknown): string =>
  typeof value === 'string' && value !== '' ? value : invalid(`${what} must be a non-empty string`)

/** Checks a seq or version: a non-negative safe integer. */
export const checkSeq = (what: string, value: unknown): number =>
  Number.isSafeInteger(value) && (value as number) >= 0
    ? (value as number)
    : invalid(`${what} must be a non-negative integer`)

/** Checks a positive integer (limits, TTLs). */
export const checkPositive = (what: string, value: unknown): number =>
  Number.isSafeInteger(value) && (value as number) > 0
    ? (value as number)
    : invalid(`${what} must be a positive integer`)

/** Whether a value is a known run status. */
export const isStatus = (value: unknown): value is RunStatus => statuses.has(value as RunStatus)

/** Checks a run status. */
export const checkStatus = (value: unknown): RunStatus =>
  isStatus(value) ? value : invalid(`unknown run status ${String(value)}`)

/** Checks journal entries before anything is written. */
export const checkEntries = (entries: ReadonlyArray<JournalEntryInput>): void => {
  if (!Array.isArray(entries)) invalid('entries must be an array')
  for (const entry of entries) {
    if (typeof entry?.type !== 'string' || entry.type === '') invalid('entry type must be a non-empty string')
    if (entry.at !== undefined && !Number.isFinite(entry.at)) invalid('entry at must be a finite number')
  }
}

/** The statuses a filter asks for, or undefined for any. */
export const filterStatuses = (filter: RunFilter): ReadonlyArray<RunStatus> | undefined => {
  if (filter.status === undefined) return undefined
  const list = typeof filter.status === 'string' ? [filter.status] : filter.status
  return list.map(checkStatus)
}

/** Default and maximum page sizes for `listRuns`. */
export const defaultPageSize = 50
export const maxPageSize = 1000

/** The page size to use: the given limit (capped) or the default. */
export const pageSize = (limit: number | undefined): number =>
  limit === undefined ? defaultPageSize : Math.min(checkPositive('limit', limit), maxPageSize)

/** Checks `acquireLease`'s arguments (and `NewRun.lease`'s). */
export const checkLease = (runId: string, ownerId: string, ttlMs: number): void => {
  checkId('runId', runId)
  checkId('ownerId', ownerId)
  checkPositive('ttlMs', ttlMs)
}

/**
 * Checks a session write's arguments (append or replace, on every store) and returns its messages
 * encoded with the store's `encode`, before anything is written.
 */
export const sessionTexts = (
  sessionId: string,
  messages: ReadonlyArray<Message>,
  expectedVersion: number | undefined,
  runId: string | undefined,
  encode: (value: unknown, what: string) => string,
): string[] => {
  checkId('sessionId', sessionId)
  if (expectedVersion !== undefined) checkSeq('expectedVersion', expectedVersion)
  if (runId !== undefined) checkId('runId', runId)
  if (!Array.isArray(messages)) invalid('messages must be an array')
  return messages.map((message, index) => encode(message, `message ${index}`))
}

/**
 * Checks `AppendOptions.session` (a run's turn, `runId` the appending run) and returns its messages
 * encoded with the store's `encode`, before anything is written.
 */
export const turnTexts = (
  turn: SessionTurn,
  runId: string,
  encode: (value: unknown, what: string) => string,
): string[] => {
  if (typeof turn !== 'object' || turn === null) invalid('session must be an object')
  return sessionTexts(turn.sessionId, turn.messages, undefined, runId, encode)
}
