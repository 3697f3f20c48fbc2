import { StoreError } from '@vel/core'

const isTransient = (error: unknown): boolean => StoreError.isInstance(error) && error.retryable

/**
 * Runs a store write; while it fails with a retryable (transient) `StoreError`, retries it on an
 * Effect schedule (exponential from 50 ms, 3 attempts in all). The first attempt is a plain call:
 * the hot path pays for no fiber, and Effect loads on the first retry (ADR 0116).
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
  const { retryWrite } = await import('./effect-retries.ts')
  return retryWrite(write, isTransient)
}
