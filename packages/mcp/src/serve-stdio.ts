import type { Readable, Writable } from 'node:stream'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { type AgentMcpServerOptions, createAgentMcpServer } from './agent-server.ts'

/** Options of `serveAgentsOverStdio`. */
export interface StdioServeOptions extends AgentMcpServerOptions {
  /** Default `process.stdin`. */
  readonly stdin?: Readable
  /** Default `process.stdout`: nothing else may write to it while serving. */
  readonly stdout?: Writable
}

/** A server speaking MCP on a pair of streams. */
export interface StdioServing {
  /** Resolves when the client is gone (stdin ended) or `close()` was called. */
  readonly closed: Promise<void>
  /** Stops serving (idempotent). Runs in flight keep running; the runtime is the caller's to shut down. */
  close(): Promise<void>
}

/**
 * Serves the agents over stdio, as an MCP client that starts this process expects: JSON-RPC lines
 * on stdin and stdout. Ends when stdin ends (the client closed it) or on `close()`.
 */
export async function serveAgentsOverStdio(options: StdioServeOptions): Promise<StdioServing> {
  const stdin = options.stdin ?? process.stdin
  const server = createAgentMcpServer(options)
  const transport = new StdioServerTransport(stdin, options.stdout ?? process.stdout)
  let finish: () => void = () => undefined
  const closed = new Promise<void>((resolve) => {
    finish = resolve
  })
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= server.close().finally(() => {
      stdin.off('end', onEnd)
      finish()
    })
    return closing
  }
  // The SDK's transport does not watch for the end of its input: the client is gone then.
  const onEnd = () => void close()
  stdin.once('end', onEnd)
  server.onclose = () => void close()
  await server.connect(transport)
  return { closed, close }
}
