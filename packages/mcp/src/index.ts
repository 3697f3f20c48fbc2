/**
 * @vel/mcp: tools from Model Context Protocol servers as ordinary Vel tools. Connects to servers
 * over stdio (a command) or Streamable HTTP (a URL with headers) with the official SDK, maps each
 * tool's annotations to Vel's side-effect policy, and serves the tools as a `ToolSource` that
 * follows the server's tool-list changes and reconnects after a drop. It may import `@vel/core`
 * and `@modelcontextprotocol/sdk`; it must not import the actors, stores, providers or adapters
 * (serving agents over MCP, which needs `@vel/actors`, is the `@vel/mcp/server` entry).
 */

// errors
export { McpConnectionError, type McpConnectionErrorReason } from './errors.ts'
// the client: connections owned by the runtime
export { createMcpClient, type McpClient } from './mcp-client.ts'
// names and results
export { fencingTokenMeta, idempotencyKeyMeta } from './mcp-tool.ts'
// options
export type {
  McpClientOptions,
  McpHttpServer,
  McpServerOptions,
  McpServerPolicy,
  McpStdioServer,
  McpToolOverride,
} from './options.ts'
// policy from annotations
export { isDestructive, type McpAnnotations, sideEffectsOf } from './policy.ts'
export { toolNames } from './tool-name.ts'
export { outputOf } from './tool-result.ts'
