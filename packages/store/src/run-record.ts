import { type JsonObject, type NewRun, type RunPatch, type RunRecord, StoreError } from '@vel/core'
import { encodeJson } from './codec.ts'
import { checkId, checkSeq, checkStatus } from './validate.ts'

const optionalId = (what: string, value: string | null | undefined): string | null =>
  value === undefined || value === null ? null : checkId(what, value)

/** The full record for a new run, with defaults (`running`, no pending requests, empty metadata). */
export const newRunRecord = (run: NewRun, now: number): RunRecord => {
  const metadata: JsonObject = run.metadata ?? {}
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new StoreError('invalid-argument', 'metadata must be a JSON object')
  encodeJson(metadata, 'metadata')
  // The first entries are the owner's to write: with them, the run is created leased.
  if (run.sessionVersion !== undefined) {
    checkSeq('sessionVersion', run.sessionVersion)
    if (run.claimSession !== true || run.sessionId === undefined || run.sessionId === null)
      throw new StoreError('invalid-argument', 'sessionVersion goes with claimSession and a sessionId')
  }
  if (run.entries !== undefined && run.lease === undefined)
    throw new StoreError('invalid-argument', 'entries need a lease: createRun journals them as its owner')
  return {
    runId: checkId('runId', run.runId),
    agentId: checkId('agentId', run.agentId),
    sessionId: optionalId('sessionId', run.sessionId),
    parentRunId: optionalId('parentRunId', run.parentRunId),
    idempotencyKey: optionalId('idempotencyKey', run.idempotencyKey),
    status: checkStatus(run.status ?? 'running'),
    pending: [],
    answer: null,
    error: null,
    metadata,
    createdAt: now,
    updatedAt: now,
  }
}

/** Checks a patch; returns it with only the fields it sets. */
export const checkPatch = (patch: RunPatch): RunPatch => {
  if (patch.status !== undefined) checkStatus(patch.status)
  if (patch.pending !== undefined && !Array.isArray(patch.pending))
    throw new StoreError('invalid-argument', 'pending must be an array')
  if (
    patch.metadata !== undefined &&
    (typeof patch.metadata !== 'object' || patch.metadata === null || Array.isArray(patch.metadata))
  )
    throw new StoreError('invalid-argument', 'metadata must be a JSON object')
  return patch
}

/** A run record with a patch applied. */
export const patchRunRecord = (run: RunRecord, patch: RunPatch, now: number): RunRecord => ({
  ...run,
  ...(patch.status === undefined ? {} : { status: patch.status }),
  ...(patch.pending === undefined ? {} : { pending: patch.pending }),
  ...(patch.answer === undefined ? {} : { answer: patch.answer }),
  ...(patch.error === undefined ? {} : { error: patch.error }),
  ...(patch.metadata === undefined ? {} : { metadata: patch.metadata }),
  updatedAt: now,
})

/** A patch's columns for a prepared statement: text (JSON) for each field it sets, null to keep. */
export interface PatchColumns {
  readonly status: string | null
  readonly pending: string | null
  readonly answer: string | null
  readonly error: string | null
  readonly metadata: string | null
}

/**
 * Checks and encodes a patch for `set column = coalesce(?, column)`: a set field is never SQL null
 * (JSON `null` encodes as the text `null`), so null stands only for "not in the patch".
 */
export const patchColumns = (patch: RunPatch): PatchColumns => {
  const checked = checkPatch(patch)
  const encode = (value: unknown, what: string): string | null =>
    value === undefined ? null : encodeJson(value, what)
  return {
    status: checked.status ?? null,
    pending: encode(checked.pending, 'pending'),
    answer: encode(checked.answer, 'answer'),
    error: encode(checked.error, 'error'),
    metadata: encode(checked.metadata, 'metadata'),
  }
}

/** A run already leased by another owner: `createRun` with a lease writes nothing. */
export const leasedElsewhere = (runId: string): StoreError =>
  new StoreError('conflict', `run ${runId} is leased by another owner`)
