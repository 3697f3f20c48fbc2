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
