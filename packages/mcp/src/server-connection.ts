import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  type CallToolResult,
  CallToolResultSchema,
  ErrorCode,
  type Tool as McpToolDefinition,
  McpError as SdkMcpError,
} from '@modelcontextprotocol/sdk/types.js'
import {
  type JsonObject,
  type JsonValue,
  type Tool,
  type ToolContext,
  ToolError,
  type ToolSource,
} from '@vel/core'
import { McpConnectionError } from './errors.ts'
import { callFailure, connectionFailure, isSessionLost, isTransportFailure } from './failures.ts'
import { fencingTokenMeta, idempotencyKeyMeta, type McpCallPlan, toVelTool } from './mcp-tool.ts'
import { isHttpServer, type McpServerOptions } from './options.ts'
import { toolNames } from './tool-name.ts'
import { outputOf } from './tool-result.ts'

/** setTimeout's ceiling: a call without a Vel limit is bounded only by its signal. */
const noLimitMs = 2_147_483_647
/** How long `tools()` waits after a failed reconnect before trying again. */
const reconnectBackoffMs = 1_000

interface Settings {
  readonly clientInfo: { readonly name: string; readonly version: string }
  readonly connectTimeoutMs: number
  readonly report: (error: unknown) => void
}

/**
 * One MCP server: its connection (opened on demand, reopened after a drop: a stdio server is
 * started again), its tools as Vel tools (relisted when the server says they changed or after a
 * reconnect), and the calls. A `ToolSource` for that one server.
 */
export class ServerConnection implements ToolSource {
  readonly name: string
  private readonly options: McpServerOptions
  private readonly settings: Settings
  private client: Client | undefined
  private connecting: Promise<Client> | undefined
  private listing: Promise<void> | undefined
  private stale = true
  private current: ReadonlyArray<Tool> = []
  private failedAt = Number.NEGATIVE_INFINITY
  private closed = false

  constructor(name: string, options: McpServerOptions, settings: Settings) {
    this.name = name
    this.options = options
    this.settings = settings
  }

  /** Connects and lists the tools; rejects with an `McpConnectionError`. */
  async open(): Promise<void> {
    await this.connection()
    await this.relist()
  }

  /** The server's tools now; reconnects or relists first if needed, and keeps the last list on failure. */
  async tools(): Promise<ReadonlyArray<Tool>> {
    if (this.closed) return []
    try {
      if (this.client === undefined && Date.now() - this.failedAt < reconnectBackoffMs) return this.current
      await this.connection()
      if (this.stale) await this.relist()
    } catch (error) {
      this.settings.report(error)
    }
    return this.current
  }

  /** Closes the connection (a stdio server is stopped). Idempotent; later calls fail, `tools()` is empty. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const client = this.client ?? (await this.connecting?.catch(() => undefined))
    this.client = undefined
    if (client !== undefined) await this.shut(client)
  }

  private closedError(): McpConnectionError {
    return new McpConnectionError('closed', this.name, `MCP server '${this.name}': the MCP client is closed`)
  }

  private connection(): Promise<Client> {
    if (this.closed) return Promise.reject(this.closedError())
    if (this.client !== undefined) return Promise.resolve(this.client)
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  /** Opens a connection; one that fails in transit is tried once more (initializing twice is harmless). */
  private async connect(): Promise<Client> {
    try {
      return await this.connectOnce()
    } catch (error) {
      if (!(McpConnectionError.isInstance(error) && isTransportFailure(error.cause))) throw error
      return this.connectOnce()
    }
  }

  private async connectOnce(): Promise<Client> {
    const client = new Client(
      { name: this.settings.clientInfo.name, version: this.settings.clientInfo.version },
      {
        capabilities: {},
        listChanged: {
          tools: {
            autoRefresh: false,
            debounceMs: 0,
            onChanged: () => {
              if (this.client !== client) return
              this.stale = true
              void this.relist().catch(this.settings.report)
            },
          },
        },
      },
    )
    client.onclose = () => this.dropped(client)
    client.onerror = () => undefined
    try {
      await client.connect(this.transport(), { timeout: this.settings.connectTimeoutMs })
    } catch (cause) {
      this.failedAt = Date.now()
      await client.close().catch(() => undefined)
      throw connectionFailure(this.name, cause)
    }
    if (this.closed) {
      await this.shut(client)
      throw this.closedError()
    }
    this.client = client
    this.stale = true
    return client
  }

  private transport(): Transport {
    const options = this.options
    if (isHttpServer(options))
      return new StreamableHTTPClientTransport(new URL(options.url), {
        requestInit: { headers: { ...options.headers } },
      })
    return new StdioClientTransport({
      command: options.command,
      args: [...(options.args ?? [])],
      ...(options.env === undefined ? {} : { env: { ...options.env } }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stderr: options.stderr ?? 'inherit',
    })
  }

  private dropped(client: Client): void {
    if (this.client !== client) return
    this.client = undefined
    this.stale = true
  }

  private async shut(client: Client): Promise<void> {
    const transport = client.transport
    if (transport instanceof StreamableHTTPClientTransport) {
      // Ends the server's session politely, but never holds up shutdown for long.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        transport.terminateSession().catch(() => undefined),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 1_000)
        }),
      ])
      clearTimeout(timer)
    }
    await client.close().catch(() => undefined)
  }

  /** Lists every page of tools and rebuilds the Vel tools; concurrent callers share one listing. */
  private relist(): Promise<void> {
    this.listing ??= this.list().finally(() => {
      this.listing = undefined
    })
    return this.listing
  }

  private async list(): Promise<void> {
    const client = await this.connection()
    this.stale = false
    const definitions: McpToolDefinition[] = []
    try {
      let cursor: string | undefined
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, {
          timeout: this.settings.connectTimeoutMs,
        })
        definitions.push(...page.tools)
        cursor = page.nextCursor
      } while (cursor !== undefined)
    } catch (cause) {
      this.stale = true
      if (isTransportFailure(cause)) this.forget(client)
      throw connectionFailure(this.name, cause)
    }
    const include = this.options.include
    const offered =
      include === undefined ? definitions : definitions.filter((tool) => include.includes(tool.name))
    const prefix = this.options.prefix === true ? this.name : this.options.prefix || undefined
    const names = toolNames(
      offered.map((tool) => tool.name),
      prefix,
    )
    // Names are sanitized and a schema Vel cannot compile falls back to the server's checks, so
    // every listed tool can be offered.
    this.current = offered.map((definition) =>
      toVelTool(
        definition,
        names.get(definition.name) ?? definition.name,
        this.name,
        this.options,
        (plan, input, context) => this.call(plan, input, context),
      ),
    )
  }

  /** Stops using a connection that failed under us; the next call or listing opens a new one. */
  private forget(client: Client): void {
    if (this.client !== client) return
    this.dropped(client)
    void client.close().catch(() => undefined)
  }

  private async call(plan: McpCallPlan, input: JsonObject, context: ToolContext): Promise<JsonValue> {
    const { mcpName, velName, timeoutMs } = plan
    const meta = {
      [idempotencyKeyMeta]: context.idempotencyKey,
      ...(context.fencingToken === undefined ? {} : { [fencingTokenMeta]: context.fencingToken }),
    }
    for (let attempt = 1; ; attempt++) {
      let client: Client
      try {
        client = await this.connection()
      } catch (cause) {
        throw new ToolError('execution', velName, `Tool '${velName}' failed: ${(cause as Error).message}`, {
          retryable: true,
          cause,
        })
      }
      try {
        const result = await client.callTool(
          { name: mcpName, arguments: input, _meta: meta },
          CallToolResultSchema,
          { signal: context.signal, timeout: timeoutMs ?? noLimitMs },
        )
        return outputOf(velName, result as CallToolResult)
      } catch (cause) {
        if (ToolError.isInstance(cause)) throw cause
        if (context.signal.aborted)
          throw new ToolError('aborted', velName, `Tool '${velName}' was cancelled`, { cause })
        if (cause instanceof SdkMcpError && cause.code === ErrorCode.RequestTimeout)
          throw new ToolError('timeout', velName, `Tool '${velName}' timed out after ${timeoutMs} ms`, {
            cause,
          })
        if (!isTransportFailure(cause)) throw callFailure(this.name, velName, cause)
        this.forget(client)
        // Once more on a new connection, if that cannot do harm: a lost session (HTTP 404) means
        // the server never ran the request; a read-only or idempotent tool may run twice.
        if (attempt === 1 && (isSessionLost(cause) || plan.resendable)) continue
        throw callFailure(this.name, velName, cause)
      }
    }
  }
}
