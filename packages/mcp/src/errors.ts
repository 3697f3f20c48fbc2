import { VelError } from '@vel/core'

/** Why talking to an MCP server failed (tool calls that fail become `ToolError`s instead). */
export type McpConnectionErrorReason =
  | 'invalid-options'
  | 'unauthorized'
  | 'unavailable'
  | 'timeout'
  | 'protocol'
  | 'closed'

/**
 * Connecting to or listing the tools of an MCP server failed. `unavailable` and `timeout` are
 * retryable (the next call or listing reconnects); `unauthorized` means the server rejected the
 * credentials (HTTP 401/403): fix the headers.
 */
export class McpConnectionError extends VelError<McpConnectionErrorReason> {
  readonly _tag = 'McpConnectionError' as const
  /** The configured name of the server. */
  readonly server: string
  constructor(
    reason: McpConnectionErrorReason,
    server: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(reason, message, {
      retryable: options.retryable ?? (reason === 'unavailable' || reason === 'timeout'),
      cause: options.cause,
    })
    this.name = 'McpConnectionError'
    this.server = server
  }
  static isInstance(value: unknown): value is McpConnectionError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { _tag?: unknown })._tag === 'McpConnectionError'
    )
  }
}

/** Why serving agents over MCP could not start. */
export type McpServeErrorReason = 'invalid-options' | 'listen-failed'

/**
 * Serving Vel agents over MCP could not start: the options name no agents or two tools alike
 * (`invalid-options`), or the HTTP port could not be bound (`listen-failed`, retryable).
 */
export class McpServeError extends VelError<McpServeErrorReason> {
  readonly _tag = 'McpServeError' as const
  constructor(reason: McpServeErrorReason, message: string, options: { cause?: unknown } = {}) {
    super(reason, message, { retryable: reason === 'listen-failed', cause: options.cause })
    this.name = 'McpServeError'
  }
  static isInstance(value: unknown): value is McpServeError {
    return (
      typeof value === 'object' && value !== null && (value as { _tag?: unknown })._tag === 'McpServeError'
    )
  }
}
