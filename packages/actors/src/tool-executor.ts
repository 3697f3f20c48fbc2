import { trace } from '@opentelemetry/api'
import {
  type JsonValue,
  type RunEvent,
  type Tool,
  type ToolContext,
  ToolError,
  type ToolRetry,
  type Validation,
} from '@vel/core'
import * as Cause from 'effect/Cause'
import * as Duration from 'effect/Duration'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Schedule from 'effect/Schedule'

type ToolOutcome = Extract<RunEvent, { type: 'tool.succeeded' | 'tool.failed' }>

const warned = new Set<string>()

/** Says once per tool name that a retry policy cannot apply to it. */
function warnUnsafeRetry(toolName: string): void {
  if (warned.has(toolName)) return
  warned.add(toolName)
  console.warn(
    `[vel] tool '${toolName}' is not retried: its sideEffects is 'unsafe' (the default). Declare sideEffects: 'idempotent' (or 'none') if running it again is safe.`,
  )
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'

/**
 * One tool call: decode the input, run the handler with an abort signal, a per-attempt timeout
 * and (only for `none`/`idempotent` tools) retries with exponential backoff as an Effect schedule,
 * then check the output. Every failure becomes a `tool.failed` event the model reads.
 *
 * The first attempt is called directly: a handler that returns a plain value has nothing to time
 * out, abort or wait for, so it costs no Effect fiber; a promise or a throw continues as an Effect
 * program (timeout, interruption, retries) from that first attempt.
 */
export function executeTool(
  tool: Tool,
  toolCallId: string,
  input: JsonValue,
  context: Omit<ToolContext, 'signal' | 'toolCallId'>,
  options: {
    readonly signal: AbortSignal
    readonly defaultTimeoutMs: number
    /** The agent's retry policy, for a tool without its own. */
    readonly defaultRetry?: ToolRetry | undefined
  },
): Promise<ToolOutcome> | ToolOutcome {
  const failed = (error: ToolError): ToolOutcome => ({
    type: 'tool.failed',
    toolCallId,
    error: error.message,
    reason: error.reason,
  })
  const toToolError = (cause: unknown): ToolError =>
    ToolError.isInstance(cause)
      ? cause
      : new ToolError('execution', tool.name, `Tool '${tool.name}' failed: ${messageOf(cause)}`, { cause })
  const settle = (output: Validation<JsonValue>): ToolOutcome =>
    output.ok
      ? { type: 'tool.succeeded', toolCallId, output: output.value }
      : failed(
          new ToolError(
            'invalid-output',
            tool.name,
            `Tool '${tool.name}' returned an invalid result: ${output.error}`,
          ),
        )
  const succeeded = (value: unknown): ToolOutcome | Promise<ToolOutcome> => {
    const output = tool.validateOutput(value)
    return isPromiseLike(output) ? Promise.resolve(output).then(settle) : settle(output)
  }
  const decoded = tool.validateInput(input)
  // An asynchronous schema: validate first, then run as a tool whose validation is done.
  if (isPromiseLike(decoded))
    return Promise.resolve(decoded).then((result) =>
      executeTool({ ...tool, validateInput: () => result }, toolCallId, input, context, options),
    )
  if (!decoded.ok)
    return failed(new ToolError('invalid-input', tool.name, `Invalid arguments: ${decoded.error}`))

  const firstAbort = new AbortController()
  const onAbort = () => firstAbort.abort(options.signal.reason)
  if (options.signal.aborted)
    return failed(new ToolError('aborted', tool.name, `Tool '${tool.name}' was aborted`))
  options.signal.addEventListener('abort', onAbort, { once: true })
  let first: unknown
  let firstError: { cause: unknown } | undefined
  try {
    first = tool.handler(decoded.value, { ...context, toolCallId, signal: firstAbort.signal })
  } catch (cause) {
    firstError = { cause }
  }
  if (firstError === undefined && !isPromiseLike(first)) {
    options.signal.removeEventListener('abort', onAbort)
    return succeeded(first)
  }

  let attempts = 0
  const attempt = Effect.suspend(() => {
    attempts += 1
    // On the tool call's span (`execute_tool`), when the runtime traces it.
    if (attempts > 1) trace.getActiveSpan()?.addEvent('vel.retry', { 'vel.attempt': attempts })
    if (attempts === 1) {
      if (firstError !== undefined) return Effect.fail(toToolError(firstError.cause))
      return Effect.tryPromise({ try: () => Promise.resolve(first), catch: toToolError }).pipe(
        Effect.onInterrupt(() => Effect.sync(() => firstAbort.abort())),
      )
    }
    return Effect.tryPromise({
      try: async (signal) => tool.handler(decoded.value, { ...context, toolCallId, signal }),
      catch: toToolError,
    })
  })
  const timeoutMs = tool.timeoutMs ?? options.defaultTimeoutMs
  const timed = Effect.timeoutFail(attempt, {
    duration: Duration.millis(timeoutMs),
    onTimeout: () =>
      new ToolError(
        'timeout',
        tool.name,
        `Tool '${tool.name}' timed out after ${timeoutMs} ms. A tool that waits for a person should not wait in its handler: use needsApproval, or the contactHuman tool, which pause the run without a timeout.`,
      ),
  })
  const retry = tool.retry ?? options.defaultRetry
  if (retry !== undefined && retry.maxAttempts > 1 && tool.sideEffects === 'unsafe')
    warnUnsafeRetry(tool.name)
  const program =
    retry !== undefined && retry.maxAttempts > 1 && tool.sideEffects !== 'unsafe'
      ? Effect.retry(timed, {
          schedule: Schedule.exponential(Duration.millis(retry.initialDelayMs ?? 100)).pipe(
            Schedule.either(Schedule.spaced(Duration.millis(retry.maxDelayMs ?? 5000))),
            Schedule.intersect(Schedule.recurs(retry.maxAttempts - 1)),
          ),
          while: (error: ToolError) => error.reason !== 'aborted' && error.reason !== 'invalid-input',
        })
      : timed

  return Effect.runPromiseExit(program, { signal: options.signal }).then(
    (exit): ToolOutcome | Promise<ToolOutcome> => {
      options.signal.removeEventListener('abort', onAbort)
      if (Exit.isSuccess(exit)) return succeeded(exit.value)
      if (Cause.isInterruptedOnly(exit.cause))
        return failed(new ToolError('aborted', tool.name, `Tool '${tool.name}' was aborted`))
      return failed(toToolError(Cause.squash(exit.cause)))
    },
  )
}
