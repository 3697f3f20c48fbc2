import {
  type JsonValue,
  type RunEvent,
  type Tool,
  type ToolContext,
  ToolError,
  type ToolRetry,
  type Validation,
} from '@vel/core'
import { CallControl } from './call-control.ts'
import { otel, otelActive } from './otel.ts'
import { isPromiseLike } from './promise-like.ts'

type ToolOutcome = Extract<RunEvent, { type: 'tool.succeeded' | 'tool.failed' }>

/** What a tool call is given besides its input. */
export interface ToolCallOptions {
  /** Aborts the call (cancel, budget, shutdown, lost lease): the handler's signal aborts with it. */
  readonly signal: AbortSignal | CallControl
  /**
   * The first attempt as the caller made it: its control (made within the call's) and the
   * handler's context for it, whose `signal` reads that control's. Without it both are made here
   * from `context`.
   */
  readonly first?: { readonly attempt: CallControl; readonly context: ToolContext }
  readonly defaultTimeoutMs: number
  /** The agent's retry policy, for a tool without its own. */
  readonly defaultRetry?: ToolRetry | undefined
}

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

const failed = (toolCallId: string, error: ToolError): ToolOutcome => ({
  type: 'tool.failed',
  toolCallId,
  error: error.message,
  reason: error.reason,
})

const abortedError = (tool: Tool) => new ToolError('aborted', tool.name, `Tool '${tool.name}' was aborted`)

const toToolError = (tool: Tool, cause: unknown): ToolError =>
  ToolError.isInstance(cause)
    ? cause
    : new ToolError('execution', tool.name, `Tool '${tool.name}' failed: ${messageOf(cause)}`, { cause })

const timeoutError = (tool: Tool, timeoutMs: number) =>
  new ToolError(
    'timeout',
    tool.name,
    `Tool '${tool.name}' timed out after ${timeoutMs} ms. A tool that waits for a person should not wait in its handler: use needsApproval, or the contactHuman tool, which pause the run without a timeout.`,
  )

const settle = (tool: Tool, toolCallId: string, output: Validation<JsonValue>): ToolOutcome =>
  output.ok
    ? { type: 'tool.succeeded', toolCallId, output: output.value }
    : failed(
        toolCallId,
        new ToolError(
          'invalid-output',
          tool.name,
          `Tool '${tool.name}' returned an invalid result: ${output.error}`,
        ),
      )

const succeeded = (tool: Tool, toolCallId: string, value: unknown): ToolOutcome | Promise<ToolOutcome> => {
  const output = tool.validateOutput(value)
  return isPromiseLike(output)
    ? Promise.resolve(output).then((checked) => settle(tool, toolCallId, checked))
    : settle(tool, toolCallId, output)
}

/** The handler's context for one attempt: its signal is the attempt's, made when the handler reads it. */
const attemptContext = (
  context: Omit<ToolContext, 'signal' | 'toolCallId'>,
  toolCallId: string,
  attempt: CallControl,
): ToolContext => ({
  ...context,
  toolCallId,
  get signal() {
    return attempt.signal
  },
})

/** The retry policy that applies to the tool, if any. */
const retryOf = (tool: Tool, options: ToolCallOptions): ToolRetry | undefined => {
  const retry = tool.retry ?? options.defaultRetry
  if (retry === undefined || retry.maxAttempts <= 1) return undefined
  if (tool.sideEffects !== 'unsafe') return retry
  warnUnsafeRetry(tool.name)
  return undefined
}

const maxTimerMs = 2 ** 31 - 1

type Attempt =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ToolError }

/**
 * One tool call: decode the input, run the handler with an abort signal and a per-attempt timeout,
 * retry it (only `none`/`idempotent` tools) with exponential backoff on an Effect schedule, then check
 * the output. Every failure becomes a `tool.failed` event the model reads.
 *
 * The first attempt is a plain call: a handler that returns a value costs nothing more, and one that
 * returns a promise is raced against its timeout and the call's abort with one timer. Only a failed
 * attempt that may be retried continues as an Effect program (schedule, timeout, interruption).
 */
export function executeTool(
  tool: Tool,
  toolCallId: string,
  input: JsonValue,
  context: Omit<ToolContext, 'signal' | 'toolCallId'>,
  options: ToolCallOptions,
): Promise<ToolOutcome> | ToolOutcome {
  const decoded = tool.validateInput(input)
  // An asynchronous schema: validate first, then run as a tool whose validation is done.
  if (isPromiseLike(decoded))
    return Promise.resolve(decoded).then((result) =>
      executeTool({ ...tool, validateInput: () => result }, toolCallId, input, context, options),
    )
  if (!decoded.ok)
    return failed(
      toolCallId,
      new ToolError('invalid-input', tool.name, `Invalid arguments: ${decoded.error}`),
    )

  const control = options.signal instanceof CallControl ? options.signal : CallControl.of(options.signal)
  if (control.aborted) return failed(toolCallId, abortedError(tool))
  const attempt = options.first?.attempt ?? new CallControl(control)
  let first: unknown
  try {
    first = tool.handler(
      decoded.value,
      options.first?.context ?? attemptContext(context, toolCallId, attempt),
    )
  } catch (cause) {
    attempt.release()
    const call = { tool, toolCallId, input: decoded.value, context, options, control }
    return afterFirst(call, { ok: false, error: toToolError(tool, cause) })
  }
  if (!isPromiseLike(first)) {
    attempt.release()
    return succeeded(tool, toolCallId, first)
  }
  const timeoutMs = tool.timeoutMs ?? options.defaultTimeoutMs
  const call = { tool, toolCallId, input: decoded.value, context, options, control }
  return raced(tool, first, attempt, control, timeoutMs).then((outcome) => afterFirst(call, outcome))
}

/** The first attempt's promise against its timeout and the call's abort: whichever comes first. */
function raced(
  tool: Tool,
  pending: PromiseLike<unknown>,
  attempt: CallControl,
  control: CallControl,
  timeoutMs: number,
): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    const done = (outcome: Attempt) => {
      clearTimeout(timer)
      control.onAbort(undefined)
      attempt.release()
      resolve(outcome)
    }
    // Past what a timer holds (about 24.8 days) there is no timeout, as with Effect's clock.
    const timer =
      timeoutMs <= maxTimerMs
        ? setTimeout(() => {
            done({ ok: false, error: timeoutError(tool, timeoutMs) })
            attempt.abort()
          }, timeoutMs)
        : undefined
    control.onAbort(() => done({ ok: false, error: abortedError(tool) }))
    pending.then(
      (value) => done({ ok: true, value }),
      (cause: unknown) => done({ ok: false, error: toToolError(tool, cause) }),
    )
  })
}

/** A tool call past its first attempt (which failed, or returned a promise). */
interface PendingCall {
  readonly tool: Tool
  readonly toolCallId: string
  readonly input: unknown
  readonly context: Omit<ToolContext, 'signal' | 'toolCallId'>
  readonly options: ToolCallOptions
  readonly control: CallControl
}

/** The outcome after the first attempt: its result, or the retries a failure may get. */
function afterFirst(call: PendingCall, first: Attempt): ToolOutcome | Promise<ToolOutcome> {
  const { tool, toolCallId } = call
  if (first.ok) return succeeded(tool, toolCallId, first.value)
  const retry = retryOf(tool, call.options)
  if (call.control.aborted || retry === undefined || !retryable(first.error))
    return failed(toolCallId, first.error)
  return retried(call, first.error, retry)
}

const retryable = (error: ToolError): boolean =>
  error.reason !== 'aborted' && error.reason !== 'invalid-input'

/**
 * Attempts 2 to `maxAttempts` as an Effect program, the first one having failed with `firstError`.
 * Effect loads here, on a process's first retry (ADR 0116): the backoff waits longer than that.
 */
function retried(call: PendingCall, firstError: ToolError, retry: ToolRetry): Promise<ToolOutcome> {
  const { tool, toolCallId, input, context, options, control } = call
  const timeoutMs = tool.timeoutMs ?? options.defaultTimeoutMs
  return import('./effect-retries.ts')
    .then(({ retryTool }) =>
      retryTool({
        firstError,
        run: async (signal, attempt) => {
          // On the tool call's span (`execute_tool`), when the runtime traces it.
          if (otelActive()) otel().trace.getActiveSpan()?.addEvent('vel.retry', { 'vel.attempt': attempt })
          return tool.handler(input, { ...context, toolCallId, signal })
        },
        toError: (cause) => toToolError(tool, cause),
        timeoutMs,
        onTimeout: () => timeoutError(tool, timeoutMs),
        maxAttempts: retry.maxAttempts,
        initialDelayMs: retry.initialDelayMs ?? 100,
        maxDelayMs: retry.maxDelayMs ?? 5000,
        retryable,
        signal: control.signal,
      }),
    )
    .then((outcome): ToolOutcome | Promise<ToolOutcome> => {
      if (outcome.ok) return succeeded(tool, toolCallId, outcome.value)
      if (outcome.interrupted) return failed(toolCallId, abortedError(tool))
      return failed(toolCallId, toToolError(tool, outcome.error))
    })
}
