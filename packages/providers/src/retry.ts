import { trace } from '@opentelemetry/api'
import {
  type LanguageModel,
  type ModelCallOptions,
  type ModelPart,
  type ModelRequest,
  ProviderError,
} from '@vel/core'
import * as Cause from 'effect/Cause'
import * as Duration from 'effect/Duration'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Schedule from 'effect/Schedule'
import { toProviderError } from './errors.ts'

/** How `withRetry` retries a model call that failed before it produced any content. */
export interface RetryOptions {
  /** Total attempts including the first. Default 3. */
  readonly maxAttempts?: number
  /** First backoff delay; doubles on each retry. Default 500 ms. */
  readonly initialDelayMs?: number
  /** Cap on one backoff delay (a server's `retry-after` may ask for longer). Default 20 s. */
  readonly maxDelayMs?: number
  /** Randomize each delay within ±20% so clients do not retry in lockstep. Default true. */
  readonly jitter?: boolean
  /** A `retry-after` longer than this is not waited for: the error is thrown at once. Default 60 s. */
  readonly maxRetryAfterMs?: number
  /** Called before each wait, e.g. for logging. */
  readonly onRetry?: (retry: { attempt: number; delayMs: number; error: ProviderError }) => void
}

/**
 * The retry schedule as an Effect `Schedule` over `ProviderError`s: exponential backoff from
 * `initialDelayMs`, jittered, capped at `maxDelayMs`, stretched to the server's `retryAfterMs`,
 * only while the error is retryable, for at most `maxAttempts - 1` retries. Internal: the published
 * package bundles its Effect (ADR 0008), so a `Schedule` handed out would belong to a copy of Effect
 * the caller's own `effect` cannot run.
 */
function retrySchedule(options: RetryOptions = {}): Schedule.Schedule<unknown, ProviderError> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3)
  const maxDelay = Duration.millis(options.maxDelayMs ?? 20_000)
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000
  const backoff = Schedule.exponential(Duration.millis(options.initialDelayMs ?? 500), 2)
  const jittered = options.jitter === false ? backoff : Schedule.jittered(backoff)
  return jittered.pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay)),
    Schedule.intersect(Schedule.recurs(maxAttempts - 1)),
    Schedule.intersect(Schedule.identity<ProviderError>()),
    Schedule.whileInput(
      (error: ProviderError) => error.retryable && (error.retryAfterMs ?? 0) <= maxRetryAfterMs,
    ),
    Schedule.modifyDelayEffect(([[, retries], error], delay) =>
      Effect.sync(() => {
        const delayMs = Math.max(Duration.toMillis(delay), error.retryAfterMs ?? 0)
        options.onRetry?.({ attempt: retries + 1, delayMs, error })
        // On the model call's span (`chat`), when the runtime traces it.
        trace.getActiveSpan()?.addEvent('vel.retry', {
          'vel.attempt': retries + 2,
          'vel.retry.delay_ms': delayMs,
          'error.type': error.reason,
        })
        return Duration.millis(delayMs)
      }),
    ),
  )
}

/** Parts that carry no content: held back so that a failure right after them may still be retried. */
const isPrelude = (part: ModelPart): boolean => part.type === 'response-metadata' || part.type === 'warning'

interface Opened {
  readonly iterator: AsyncIterator<ModelPart>
  readonly held: ModelPart[]
  readonly done: boolean
}

/** Starts one attempt and pulls until the first content part: up to there a failure is retryable. */
async function open(model: LanguageModel, request: ModelRequest, options: ModelCallOptions): Promise<Opened> {
  const iterator = model.stream(request, options)[Symbol.asyncIterator]()
  const held: ModelPart[] = []
  try {
    while (true) {
      const result = await iterator.next()
      if (result.done) return { iterator, held, done: true }
      held.push(result.value)
      if (!isPrelude(result.value)) return { iterator, held, done: false }
    }
  } catch (error) {
    void iterator.return?.()?.catch(() => {})
    throw error
  }
}

/**
 * Wraps a model so that calls failing with a retryable `ProviderError` before any content was
 * produced are retried on `retrySchedule(options)`. Once a content part has reached the consumer
 * a failure is thrown as is, never retried (see docs/decisions/0010-provider-retry.md). An abort
 * through `signal` stops at once, also during a wait, with `reason: 'aborted'`.
 */
export function withRetry(model: LanguageModel, options: RetryOptions = {}): LanguageModel {
  const schedule = retrySchedule(options)
  return {
    provider: model.provider,
    modelId: model.modelId,
    async *stream(request, callOptions = {}) {
      const signal = callOptions.signal
      const attempt = Effect.tryPromise({
        try: () => open(model, request, callOptions),
        catch: (error) => toProviderError(model.provider, error),
      })
      const exit = await Effect.runPromiseExit(
        Effect.retry(attempt, schedule),
        signal === undefined ? undefined : { signal },
      )
      if (Exit.isFailure(exit)) {
        if (signal?.aborted || Cause.isInterruptedOnly(exit.cause))
          throw new ProviderError({
            reason: 'aborted',
            provider: model.provider,
            message: `${model.provider}: call aborted`,
            retryable: false,
          })
        throw toProviderError(model.provider, Cause.squash(exit.cause))
      }
      const { iterator, held, done } = exit.value
      let finished = done
      try {
        yield* held
        while (!finished) {
          const result = await iterator.next()
          if (result.done) finished = true
          else yield result.value
        }
      } catch (error) {
        finished = true
        throw toProviderError(model.provider, error)
      } finally {
        if (!finished) await iterator.return?.()
      }
    },
  }
}
