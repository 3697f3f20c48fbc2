import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ErrorCode, McpError as SdkMcpError } from '@modelcontextprotocol/sdk/types.js'
import { ToolError, truncate } from '@vel/core'
import { McpConnectionError } from './errors.ts'

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const httpStatusOf = (cause: unknown): number | undefined =>
  cause instanceof StreamableHTTPError ? cause.code : undefined

const isUnauthorized = (cause: unknown): boolean =>
  cause instanceof UnauthorizedError || httpStatusOf(cause) === 401 || httpStatusOf(cause) === 403

/** A Streamable HTTP server no longer knows our session (it restarted or expired it): HTTP 404. */
export const isSessionLost = (cause: unknown): boolean => httpStatusOf(cause) === 404

/** The connection itself failed (closed, refused, reset, session lost), not the request on it. */
export const isTransportFailure = (cause: unknown): boolean => {
  if (cause instanceof SdkMcpError) return cause.code === ErrorCode.ConnectionClosed
  const status = httpStatusOf(cause)
  if (status !== undefined) return status === 404 || status >= 500
  if (cause instanceof TypeError) return true // fetch: refused, reset, DNS
  const code = (cause as { code?: unknown } | undefined)?.code
  return (
    messageOf(cause) === 'Not connected' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ENOENT'
  )
}

/** An `McpConnectionError` for a failed connect or listing, with a reason a caller can act on. */
export function connectionFailure(server: string, cause: unknown): McpConnectionError {
  if (McpConnectionError.isInstance(cause)) return cause
  const detail = truncate(messageOf(cause), 400)
  if (isUnauthorized(cause))
    return new McpConnectionError(
      'unauthorized',
      server,
      `MCP server '${server}' rejected the credentials (HTTP ${httpStatusOf(cause) ?? 401}): check the headers configured for it. ${detail}`,
      { cause },
    )
  if (cause instanceof SdkMcpError && cause.code === ErrorCode.RequestTimeout)
    return new McpConnectionError(
      'timeout',
      server,
      `MCP server '${server}' did not answer in time: ${detail}`,
      {
        cause,
      },
    )
  if (
    isTransportFailure(cause) ||
    (cause instanceof SdkMcpError && cause.code === ErrorCode.ConnectionClosed)
  )
    return new McpConnectionError('unavailable', server, `MCP server '${server}' is unavailable: ${detail}`, {
      cause,
    })
  return new McpConnectionError('protocol', server, `MCP server '${server}' failed: ${detail}`, { cause })
}

/** The `ToolError` a model reads when a call failed outside the tool (the server, the connection). */
export function callFailure(server: string, toolName: string, cause: unknown): ToolError {
  const detail = truncate(messageOf(cause), 400)
  if (isTransportFailure(cause))
    return new ToolError(
      'execution',
      toolName,
      `Tool '${toolName}' failed: the connection to MCP server '${server}' was lost during the call, so it may or may not have run (${detail})`,
      { retryable: true, cause },
    )
  if (isUnauthorized(cause))
    return new ToolError(
      'execution',
      toolName,
      `Tool '${toolName}' failed: MCP server '${server}' rejected the credentials`,
      {
        cause,
      },
    )
  return new ToolError('execution', toolName, `Tool '${toolName}' failed: ${detail}`, { cause })
}
