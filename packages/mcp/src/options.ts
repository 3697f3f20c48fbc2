import type { ApprovalContext, SideEffects, ToolRetry } from '@vel/core'

/** A server run as a child process that speaks MCP over its stdin and stdout. */
export interface McpStdioServer {
  /** The executable, e.g. `node` or `npx`. */
  readonly command: string
  /** Its arguments, e.g. `['server.js']`. */
  readonly args?: ReadonlyArray<string>
  /** Added to a small safe default environment (PATH, HOME, ...), not to all of `process.env`. */
  readonly env?: Readonly<Record<string, string>>
  /** Its working directory. Default: this process's. */
  readonly cwd?: string
  /** Where the server's stderr goes. Default `inherit` (this process's stderr). */
  readonly stderr?: 'inherit' | 'ignore' | 'pipe'
}

/** A server reached over Streamable HTTP. */
export interface McpHttpServer {
  /** The MCP endpoint, e.g. `https://example.com/mcp`. */
  readonly url: string | URL
  /** Sent with every request (e.g. `{ authorization: 'Bearer …' }`). */
  readonly headers?: Readonly<Record<string, string>>
}

/** How one MCP tool is offered to agents, overriding what its annotations imply. */
export interface McpToolOverride {
  /** Replaces the policy derived from the annotations. */
  readonly sideEffects?: SideEffects
  /** Ask a human before each call (a predicate sees the arguments). Replaces `approveDestructive`. */
  // biome-ignore lint/suspicious/noExplicitAny: MCP tool arguments are untyped JSON
  readonly needsApproval?: boolean | ((input: any, context: ApprovalContext) => boolean | Promise<boolean>)
  /** Per-attempt limit for this tool; on expiry the call is cancelled on the server. */
  readonly timeoutMs?: number
  /** Retries for `none`/`idempotent` tools, as for any Vel tool. */
  readonly retry?: ToolRetry
  /** Replaces the description the server gives. */
  readonly description?: string
}

/** Options shared by both kinds of server. */
export interface McpServerPolicy {
  /**
   * Prefix for the tool names (`'github'` gives `github_create_issue`); `true` uses the server's
   * name. Names are then sanitized to `^[a-zA-Z0-9_-]{1,64}$`. Default: no prefix.
   */
  readonly prefix?: string | boolean
  /** Ask a human before every call of a destructive tool (not read-only, `destructiveHint` not false). */
  readonly approveDestructive?: boolean
  /** Default per-call limit for this server's tools. Default: the agent's `toolTimeoutMs`. */
  readonly timeoutMs?: number
  /** Per tool, keyed by the name the server gives it (or the Vel name after prefixing). */
  readonly tools?: Readonly<Record<string, McpToolOverride>>
  /** Which tools to offer, by the server's name for them. Default: all. */
  readonly include?: ReadonlyArray<string>
}

/** One MCP server: a command (stdio) or a URL (Streamable HTTP), plus its tool policy. */
export type McpServerOptions = (McpStdioServer | McpHttpServer) & McpServerPolicy

/** Options of `createMcpClient`. */
export interface McpClientOptions {
  /** The servers, by name (the name appears in errors and can prefix the tool names). */
  readonly servers: Readonly<Record<string, McpServerOptions>>
  /** How this client introduces itself to servers. Default `{ name: 'vel', version: '0.1.0' }`. */
  readonly clientInfo?: { readonly name: string; readonly version: string }
  /** Limit for connecting and listing tools. Default 10 s. */
  readonly connectTimeoutMs?: number
  /** Hears failures that do not reach a caller: a background relist, a dropped connection. */
  readonly onError?: (error: unknown) => void
}

/** Whether a server is reached over HTTP rather than started as a process. */
export const isHttpServer = (server: McpServerOptions): server is McpHttpServer & McpServerPolicy =>
  'url' in server && server.url !== undefined
