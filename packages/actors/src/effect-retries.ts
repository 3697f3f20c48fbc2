/**
 * The Effect programs that retry what failed: a tool call's attempts after its first and a store
 * write's after its first. Loaded with `import()` on the first retry, so a process whose calls and
 * writes succeed first time never loads (or compiles) Effect (ADR 0116). What leaves this module
 * is plain values: no Effect, `Exit` or `Cause` reaches the caller (ADR 0008).
 */
import * as Cause from 'effect/Cause'
import * as Duration from 'effect/Duration'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Schedule from 'effect/Schedule'

/** How a retried program ended: its value, interrupted by the caller's signal, or its last error. */
export type Retried =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly interrupted: true }
  | { readonly ok: false; readonly interrupted: false; readonly error: unknown }

/** A tool call's attempts 2 to `maxAttempts`, the first having failed with `firstError`. */
export interface ToolRetries<E> {
  readonly firstError: E
  /** Attempt `attempt` (2, 3, ...) with its own abort signal. */
  readonly run: (signal: AbortSignal, attempt: number) => Promise<unknown>
  /** What an attempt's rejection becomes. */
  readonly toError: (cause: unknown) => E
  readonly timeoutMs: number
  readonly onTimeout: () => E
  readonly maxAttempts: number
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  /** Whether a failure is retried. */
  readonly retryable: (error: E) => boolean
  /** The call's signal: interrupts the program (and the running attempt). */
  readonly signal: AbortSignal
}

/**
 * Retries with exponential backoff (from `initialDelayMs`, at most `maxDelayMs` apart), each
 * attempt under its timeout, until one succeeds, a failure is not retryable, or the attempts run out.
 */
export function retryTool<E>(retries: ToolRetries<E>): Promise<Retried> {
  let attempts = 0
  const attempt = Effect.suspend(() => {
    attempts += 1
    if (attempts === 1) return Effect.fail(retries.firstError)
    return Effect.tryPromise({
      try: (signal) => retries.run(signal, attempts),
      catch: retries.toError,
    })
  })
  const timed = Effect.timeoutFail(attempt, {
    duration: Duration.millis(retries.timeoutMs),
    onTimeout: retries.onTimeout,
  })
  const program = Effect.retry(timed, {
    schedule: Schedule.exponential(Duration.millis(retries.initialDelayMs)).pipe(
      Schedule.either(Schedule.spaced(Duration.millis(retries.maxDelayMs))),
      Schedule.intersect(Schedule.recurs(retries.maxAttempts - 1)),
    ),
    while: retries.retryable,
  })
  return Effect.runPromiseExit(program, { signal: retries.signal }).then(settled)
}

/**
 * A store write's attempts after its first failed transiently: 2 more, exponential from 50 ms,
 * while the failure is `transient`; its value, or the last failure thrown.
 */
export async function retryWrite<T>(
  write: () => Promise<T>,
  transient: (error: unknown) => boolean,
): Promise<T> {
  const retried = Effect.retry(Effect.tryPromise({ try: write, catch: (cause) => cause }), {
    schedule: Schedule.exponential(Duration.millis(50)).pipe(Schedule.intersect(Schedule.recurs(2))),
    while: transient,
  })
  const exit = await Effect.runPromiseExit(retried)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

function settled(exit: Exit.Exit<unknown, unknown>): Retried {
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  if (Cause.isInterruptedOnly(exit.cause)) return { ok: false, interrupted: true }
  return { ok: false, interrupted: false, error: Cause.squash(exit.cause) }
}
