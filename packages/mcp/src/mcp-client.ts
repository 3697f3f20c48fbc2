import type { Tool, ToolSource } from '@vel/core'
import { McpConnectionError } from './errors.ts'
import { isHttpServer, type McpClientOptions } from './options.ts'
import { ServerConnection } from './server-connection.ts'

/** Connections to MCP servers, opened once for the runtime and closed on shutdown. */
export interface McpClient extends ToolSource {
  /** `'mcp'`. */
  readonly name: string
  /**
   * The tools of every server, in the order the servers were given. Reconnects a dropped server and
   * relists one whose tools changed; never throws (a server that cannot list keeps its last list).
   * Of two tools with the same name the first wins and `onError` hears of it: use `prefix`.
   */
  tools(): Promise<ReadonlyArray<Tool>>
  /** One server's tools as their own source; throws an `McpConnectionError` for an unknown name. */
  source(server: string): ToolSource
  /** Closes every connection and stops stdio servers. Idempotent; afterwards `tools()` is empty. */
  close(): Promise<void>
}

const namePattern = /^[a-zA-Z0-9_-]{1,64}$/

/**
 * Connects to every server (starting stdio servers as child processes) and lists their tools.
 * Rejects with an `McpConnectionError` if any server cannot be reached or rejects the
 * credentials; the servers already opened are closed again.
 */
export async function createMcpClient(options: McpClientOptions): Promise<McpClient> {
  const report = options.onError ?? (() => undefined)
  const settings = {
    clientInfo: options.clientInfo ?? { name: 'vel', version: '0.1.0' },
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    report,
  }
  const connections = new Map<string, ServerConnection>()
  for (const [name, server] of Object.entries(options.servers)) {
    if (!namePattern.test(name))
      throw new McpConnectionError(
        'invalid-options',
        name,
        `MCP server name '${name}' must match ${namePattern}`,
      )
    const ok = isHttpServer(server) ? URL.canParse(String(server.url)) : typeof server.command === 'string'
    if (!ok)
      throw new McpConnectionError(
        'invalid-options',
        name,
        `MCP server '${name}' needs a valid \`url\` (Streamable HTTP) or a \`command\` (stdio)`,
      )
    connections.set(name, new ServerConnection(name, server, settings))
  }
  const opened = await Promise.allSettled([...connections.values()].map((connection) => connection.open()))
  const failure = opened.find((outcome) => outcome.status === 'rejected')
  if (failure !== undefined) {
    await Promise.all([...connections.values()].map((connection) => connection.close()))
    throw (failure as PromiseRejectedResult).reason
  }

  const reported = new Set<string>()
  let closing: Promise<void> | undefined
  return {
    name: 'mcp',
    async tools() {
      const lists = await Promise.all([...connections.values()].map((connection) => connection.tools()))
      const byName = new Map<string, { tool: Tool; server: string }>()
      lists.forEach((list, index) => {
        const server = [...connections.keys()][index] ?? ''
        for (const tool of list) {
          const first = byName.get(tool.name)
          if (first === undefined) byName.set(tool.name, { tool, server })
          else if (!reported.has(`${server}:${tool.name}`)) {
            reported.add(`${server}:${tool.name}`)
            report(
              new McpConnectionError(
                'invalid-options',
                server,
                `tool '${tool.name}' of MCP server '${server}' is hidden by the one of '${first.server}': give the servers a \`prefix\``,
              ),
            )
          }
        }
      })
      return [...byName.values()].map((entry) => entry.tool)
    },
    source(server) {
      const connection = connections.get(server)
      if (connection === undefined)
        throw new McpConnectionError(
          'invalid-options',
          server,
          `no MCP server named '${server}' (configured: ${[...connections.keys()].join(', ') || 'none'})`,
        )
      return connection
    },
    close() {
      closing ??= Promise.all([...connections.values()].map((connection) => connection.close())).then(
        () => undefined,
      )
      return closing
    },
  }
}
