import { type ModelPart, ProviderError } from '@vel/core'
import { origin, toProviderError } from './errors.ts'

/** Limits of one guarded call. */
export interface GuardOptions {
  readonly signal?: AbortSignal | undefined
  readonly timeoutMs?: number | undefined
  readonly idleTimeoutMs?: number | undefined
  /** Response headers seen so far, for `retry-after` on errors that do not carry them. */
  readonly headers?: () => unknown
  /** Where the call goes (the client's base URL), named in every error message once known. */
  readonly endpoint?: () => string | undefined
}

const aborted = (provider: string, cause?: unknown) =>
  new ProviderError({
    reason: 'aborted',
    message: `${provider}: call aborted`,
    provider,
    retryable: false,
    cause,
  })

/**
 * Runs one provider call: links the caller's signal, arms the whole-call and idle timers, races
 * every chunk against them (so a stalled socket or an SDK that ends quietly on abort cannot hang
 * or truncate silently), and turns every failure into a `ProviderError`.
 */
export async function* guardStream(
  provider: string,
  open: (signal: AbortSignal) => AsyncIterable<ModelPart>,
  options: GuardOptions = {},
): AsyncGenerator<ModelPart> {
  const { signal, timeoutMs, idleTimeoutMs } = options
  if (signal?.aborted) throw aborted(provider, signal.reason)
  const controller = new AbortController()
  let failure: ProviderError | undefined
  let rejectStop: (error: ProviderError) => void = () => {}
  const stopped = new Promise<never>((_, reject) => {
    rejectStop = reject
  })
  stopped.catch(() => {})
  const stop = (error: ProviderError) => {
    if (failure !== undefined) return
    failure = error
    rejectStop(error)
    controller.abort(error)
  }
  const onAbort = () => stop(aborted(provider, signal?.reason))
  signal?.addEventListener('abort', onAbort, { once: true })
  const timeout = (what: string, ms: number) =>
    new ProviderError({
      reason: 'timeout',
      message: `${origin(provider, options.endpoint?.())}: ${what} exceeded ${ms} ms`,
      provider,
    })
  const callTimer =
    timeoutMs === undefined ? undefined : setTimeout(() => stop(timeout('call', timeoutMs)), timeoutMs)
  const idleTimer =
    idleTimeoutMs === undefined
      ? undefined
      : setTimeout(() => stop(timeout('idle gap between chunks', idleTimeoutMs)), idleTimeoutMs)
  const iterator = open(controller.signal)[Symbol.asyncIterator]()
  let done = false
  try {
    while (true) {
      idleTimer?.refresh()
      const result = await Promise.race([iterator.next(), stopped])
      if (result.done) break
      yield result.value
    }
    done = true
    // Some SDKs end their iterator quietly when the request is aborted.
    if (failure !== undefined) throw failure
  } catch (error) {
    throw (
      failure ??
      toProviderError(provider, error, { headers: options.headers?.(), endpoint: options.endpoint?.() })
    )
  } finally {
    clearTimeout(callTimer)
    clearTimeout(idleTimer)
    signal?.removeEventListener('abort', onAbort)
    if (!done) {
      controller.abort()
      void iterator.return?.()?.catch(() => {})
    }
  }
}
