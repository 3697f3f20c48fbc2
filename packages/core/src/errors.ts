import type { JsonObject } from './json.ts'

/**
 * Base of every error that crosses a Vel boundary: a stable `_tag`, a typed `reason`, whether a
 * retry may help, and the underlying `cause`. `toJSON()` gives the plain shape stored in journals.
 */
export abstract class VelError<Reason extends string = string> extends Error {
  abstract readonly _tag: string
  readonly reason: Reason
  readonly retryable: boolean

  constructor(reason: Reason, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    this.retryable = options.retryable ?? false
  }

  toJSON(): SerializedError {
    return { tag: this._tag, reason: this.reason, message: this.message, retryable: this.retryable }
  }
}

/** The JSON form of an error as it is journaled and sent over the wire. */
export interface SerializedError extends JsonObject {
  tag: string
  reason: string
  message: string
  retryable: boolean
}

const hasTag = (value: unknown, tag: string): boolean =>
  typeof value === 'object' && value !== null && (value as { _tag?: unknown })._tag === tag

export type ProviderErrorReason =
  | 'rate-limited'
  | 'overloaded'
  | 'timeout'
  | 'auth'
  | 'bad-request'
  | 'context-overflow'
  | 'content-filtered'
  | 'network'
  | 'invalid-response'
  | 'aborted'
  | 'unsupported'

const retryableProviderReasons: ReadonlySet<ProviderErrorReason> = new Set([
  'rate-limited',
  'overloaded',
  'timeout',
  'network',
])

/** A model provider failed. Retryable for rate limits, overload, timeouts and network faults. */
export class ProviderError extends VelError<ProviderErrorReason> {
  readonly _tag = 'ProviderError' as const
  readonly provider: string
  readonly status: number | undefined
  readonly retryAfterMs: number | undefined

  constructor(options: {
    reason: ProviderErrorReason
    message: string
    provider: string
    status?: number
    retryAfterMs?: number
    retryable?: boolean
    cause?: unknown
  }) {
    super(options.reason, options.message, {
      retryable: options.retryable ?? retryableProviderReasons.has(options.reason),
      cause: options.cause,
    })
    this.name = 'ProviderError'
    this.provider = options.provider
    this.status = options.status
    this.retryAfterMs = options.retryAfterMs
  }

  static isInstance(value: unknown): value is ProviderError {
    return hasTag(value, 'ProviderError')
  }

  override toJSON(): SerializedError {
    const base = super.toJSON()
    return {
      ...base,
      provider: this.provider,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    }
  }
}

export type StoreErrorReason =
  | 'conflict'
  | 'busy'
  | 'fenced'
  | 'not-found'
  | 'corrupted'
  | 'schema-too-new'
  | 'unavailable'
  | 'invalid-argument'
  | 'closed'

/**
 * A store operation failed. `conflict`: another writer appended first (or the id exists); `busy`:
 * the session a new run claims has an unfinished run; `fenced`: a stale lease epoch.
 */
export class StoreError extends VelError<StoreErrorReason> {
  readonly _tag = 'StoreError' as const
  constructor(
    reason: StoreErrorReason,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(reason, message, { retryable: options.retryable ?? reason === 'unavailable', cause: options.cause })
    this.name = 'StoreError'
  }
  static isInstance(value: unknown): value is StoreError {
    return hasTag(value, 'StoreError')
  }
}

export type ToolErrorReason =
  | 'invalid-input'
  | 'invalid-output'
  | 'execution'
  | 'timeout'
  | 'aborted'
  | 'unknown-tool'
  | 'denied'
  | 'interrupted'
  | 'invalid-definition'

/** A tool could not produce a valid result. Inside a run it becomes a tool result the model reads. */
export class ToolError extends VelError<ToolErrorReason> {
  readonly _tag = 'ToolError' as const
  readonly toolName: string
  constructor(
    reason: ToolErrorReason,
    toolName: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(reason, message, { retryable: options.retryable ?? reason === 'timeout', cause: options.cause })
    this.name = 'ToolError'
    this.toolName = toolName
  }
  static isInstance(value: unknown): value is ToolError {
    return hasTag(value, 'ToolError')
  }
}

export type TransportErrorReason =
  | 'malformed-payload'
  | 'schema-mismatch'
  | 'unknown-agent'
  | 'unknown-run'
  | 'unavailable'
  | 'timeout'
  | 'unauthorized'
  | 'forbidden'
  | 'payload-too-large'
  | 'invalid-state'

/** A message between processes (HTTP, NATS) was rejected or could not be delivered. */
export class TransportError extends VelError<TransportErrorReason> {
  readonly _tag = 'TransportError' as const
  constructor(
    reason: TransportErrorReason,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(reason, message, { retryable: options.retryable ?? reason === 'unavailable', cause: options.cause })
    this.name = 'TransportError'
  }
  static isInstance(value: unknown): value is TransportError {
    return hasTag(value, 'TransportError')
  }
}

export type RunErrorReason =
  | 'model-failed'
  | 'budget-exceeded'
  | 'cancelled'
  | 'invalid-state'
  | 'not-found'
  | 'invalid-output'
  | 'child-failed'
  | 'corrupted'
  /** Another unfinished run holds the session: answer or cancel it first. */
  | 'session-busy'

/** A run ended without an answer, or a request about a run is impossible in its state. */
export class RunError extends VelError<RunErrorReason> {
  readonly _tag = 'RunError' as const
  readonly runId: string | undefined
  constructor(
    reason: RunErrorReason,
    message: string,
    options: { runId?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(reason, message, options)
    this.name = 'RunError'
    this.runId = options.runId
  }
  static isInstance(value: unknown): value is RunError {
    return hasTag(value, 'RunError')
  }
}

/** Best-effort JSON form of anything thrown. */
export const serializeError = (error: unknown): SerializedError => {
  if (error instanceof VelError) return error.toJSON()
  if (error instanceof Error)
    return { tag: error.name, reason: 'unknown', message: error.message, retryable: false }
  return { tag: 'Unknown', reason: 'unknown', message: String(error), retryable: false }
}
