import {
  type JsonObject,
  type JsonValue,
  type RunRecord,
  type RunStatus,
  type SerializedError,
  StoreError,
} from '@vel/core'
import { isStatus } from './validate.ts'

/** The columns of a run row that need no decoding. */
export type RunIdentity = Pick<
  RunRecord,
  'runId' | 'agentId' | 'sessionId' | 'parentRunId' | 'idempotencyKey' | 'createdAt' | 'updatedAt'
>

/** The stored fields of a run row; each JSON field is read by a function that may throw. */
export interface StoredRunFields {
  readonly status: unknown
  readonly pending: () => unknown
  readonly answer: () => unknown
  readonly error: () => unknown
  readonly metadata: () => unknown
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isSerializedError = (value: unknown): value is SerializedError =>
  isObject(value) &&
  typeof value.tag === 'string' &&
  typeof value.reason === 'string' &&
  typeof value.message === 'string'

/**
 * A run record from its stored fields. A row that does not decode (unparsable or mis-shaped JSON,
 * an unknown status) is not thrown: it comes back with status `corrupted` and a serialized
 * `StoreError('corrupted')` naming the run and what is wrong, so one bad row cannot stop a listing.
 */
export function decodeRun(identity: RunIdentity, fields: StoredRunFields): RunRecord {
  const problems: string[] = []
  const read = <T>(name: string, value: () => unknown, valid: (decoded: unknown) => boolean, fallback: T) => {
    try {
      const decoded = value()
      if (valid(decoded)) return decoded as T
      problems.push(`${name} has the wrong shape`)
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`)
    }
    return fallback
  }
  const pending = read<JsonValue[]>('pending', fields.pending, Array.isArray, [])
  const answer = read<JsonValue>('answer', fields.answer, (decoded) => decoded !== undefined, null)
  const error = read<SerializedError | null>(
    'error',
    fields.error,
    (decoded) => decoded === null || isSerializedError(decoded),
    null,
  )
  const metadata = read<JsonObject>('metadata', fields.metadata, isObject, {})
  if (!isStatus(fields.status)) problems.push(`unknown status ${JSON.stringify(fields.status)}`)
  const record: RunRecord = {
    ...identity,
    status: fields.status as RunStatus,
    pending,
    answer,
    error,
    metadata,
  }
  if (problems.length === 0) return record
  const corruption = new StoreError(
    'corrupted',
    `run ${identity.runId}: the index row does not decode (${problems.join('; ')})`,
  )
  return { ...record, status: 'corrupted', error: corruption.toJSON() }
}
