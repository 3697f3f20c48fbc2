import {
  type JsonValue,
  RunError,
  type RunErrorReason,
  type RunRecord,
  type SerializedError,
} from '@vel/core'

/** How a run ended, as the code waiting for it sees it. */
export type RunOutcome =
  | { readonly phase: 'completed'; readonly answer: JsonValue }
  | { readonly phase: 'failed'; readonly error: SerializedError }
  | { readonly phase: 'cancelled'; readonly reason: string }

/** The outcome an index row records, if the run has ended. */
export function outcomeOf(record: RunRecord | undefined, runId: string): RunOutcome | undefined {
  if (record === undefined)
    return {
      phase: 'failed',
      error: { tag: 'RunError', reason: 'not-found', message: `no run ${runId}`, retryable: false },
    }
  if (record.status === 'completed') return { phase: 'completed', answer: record.answer }
  if (record.status === 'cancelled') return { phase: 'cancelled', reason: 'cancelled' }
  if (record.status === 'failed' || record.status === 'corrupted')
    return {
      phase: 'failed',
      error: record.error ?? {
        tag: 'RunError',
        reason: record.status,
        message: record.status,
        retryable: false,
      },
    }
  return undefined
}

/** The answer of an outcome, or the error it stands for. */
export function answerOf(outcome: RunOutcome, runId: string): JsonValue {
  if (outcome.phase === 'completed') return outcome.answer
  if (outcome.phase === 'cancelled')
    throw new RunError('cancelled', `run ${runId} was cancelled: ${outcome.reason}`, { runId })
  const reason: RunErrorReason =
    outcome.error.tag === 'RunError' ? (outcome.error.reason as RunErrorReason) : 'model-failed'
  throw new RunError(reason, `run ${runId} failed: ${outcome.error.message}`, { runId, cause: outcome.error })
}
