import { StoreError } from '@vel/core'
import * as Cause from 'effect/Cause'
import * as Duration from 'effect/Duration'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Schedule from 'effect/Schedule'

const isTransient = (error: unknown): boolean => StoreError.isInstance(error) && error.retryable

/**
 * Runs a store write; while it fails with a retryable (transient) `StoreError`, retries it on an
 * Effect schedule (exponential from 50 ms, 3 attempts in all). The first attempt is a plain call:
 * the hot path pays for no fiber.
 */
export async function appendWithRetry<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (error) {
    return retryTransient(error, write)
  }
}

/**
 * After a write's first attempt failed with `error`: rethrows it unless it is transient, else
 * retries the write as `appendWithRetry` would have (2 more attempts, exponential from 50 ms).
 */
export async function retryTransient<T>(error: unknown, write: () => Promise<T>): Promise<T> {
  if (!isTransient(error)) throw error
  const retried = Effect.retry(Effect.tryPromise({ try: write, catch: (cause) => cause }), {
    schedule: Schedule.exponential(Duration.millis(50)).pipe(Schedule.intersect(Schedule.recurs(2))),
    while: isTransient,
  })
  const exit = await Effect.runPromiseExit(retried)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}
