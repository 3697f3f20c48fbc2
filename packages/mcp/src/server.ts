/**
 * @vel/mcp/server: Vel agents served over the Model Context Protocol. Each agent is one MCP tool
 * that starts a run through a `Runtime` (never the store) and returns its answer, with progress
 * notifications while it runs and approvals and questions asked through elicitation. Over stdio
 * (a client starts the process) or Streamable HTTP (one session per client). It may import
 * `@vel/core`, `@vel/actors` (the `Runtime` API only) and `@modelcontextprotocol/sdk`.
 */

export type { HumanDecision } from './agent-call.ts'
export { decisionOf, elicitationOf } from './agent-elicitation.ts'
// one MCP server over a runtime
export { type AgentMcpServerOptions, createAgentMcpServer, type ServedAgent } from './agent-server.ts'
// errors
export { McpServeError, type McpServeErrorReason } from './errors.ts'
// transports
export {
  type AgentMcpHttpHandler,
  createAgentMcpHttpHandler,
  type HttpHandlerOptions,
  type HttpServeOptions,
  type HttpServing,
  serveAgentsOverHttp,
} from './serve-http.ts'
export { type StdioServeOptions, type StdioServing, serveAgentsOverStdio } from './serve-stdio.ts'
