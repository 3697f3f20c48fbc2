import { type JsonValue, type RunEvent, type Tool, type ToolContext, ToolError } from '@vel/core'
import * as Cause from 'effect/Cause'
import * as Duration from 'effect/Duration'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Schedule from 'effect/Schedule'

type ToolOutcome = Extract<RunEvent, { type: 'tool.succeeded' | 'tool.failed' }>

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * One tool call as an Effect program: decode the input, run the handler with the run's abort
 * signal, a per-attempt timeout and (only for `none`/`idempotent` tools) retries with exponential
 * backoff, then check the output. Every failure becomes a `tool.failed` event the model reads.
 */
export function executeTool(
  tool: Tool,
  toolCallId: string,
  input: JsonValue,
  context: Omit<ToolContext, 'signal' | 'toolCallId'>,
  options: { readonly signal: AbortSignal; readonly defaultTimeoutMs: number },
): Promise<ToolOutcome> {
  const failed = (error: ToolError): ToolOutcome => ({
    type: 'tool.failed',
    toolCallId,
    error: error.message,
    reason: error.reason,
  })
  const decoded = tool.validateInput(input)
  if (!decoded.ok)
    return Promise.resolve(
      failed(new ToolError('invalid-input', tool.name, `Invalid arguments: ${decoded.error}`)),
    )

  const attempt = Effect.tryPromise({
    try: async (signal) => tool.handler(decoded.value, { ...context, toolCallId, signal }),
    catch: (cause) =>
      ToolError.isInstance(cause)
        ? cause
        : new ToolError('execution', tool.name, `Tool '${tool.name}' failed: ${messageOf(cause)}`, { cause }),
  })
  const timeoutMs = tool.timeoutMs ?? options.defaultTimeoutMs
  const timed = Effect.timeoutFail(attempt, {
    duration: Duration.millis(timeoutMs),
    onTimeout: () =>
      new ToolError('timeout', tool.name, `Tool '${tool.name}' timed out after ${timeoutMs} ms`),
  })
  const retry = tool.retry
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

  return Effect.runPromiseExit(program, { signal: options.signal }).then((exit): ToolOutcome => {
    if (Exit.isSuccess(exit)) {
      const output = tool.validateOutput(exit.value)
      return output.ok
        ? { type: 'tool.succeeded', toolCallId, output: output.value }
        : failed(
            new ToolError(
              'invalid-output',
              tool.name,
              `Tool '${tool.name}' returned an invalid result: ${output.error}`,
            ),
          )
    }
    if (Cause.isInterruptedOnly(exit.cause))
      return failed(new ToolError('aborted', tool.name, `Tool '${tool.name}' was aborted`))
    const error = Cause.squash(exit.cause)
    return failed(
      ToolError.isInstance(error)
        ? error
        : new ToolError('execution', tool.name, `Tool '${tool.name}' failed: ${messageOf(error)}`),
    )
  })
}
