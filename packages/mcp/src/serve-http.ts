import { randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { type AgentMcpServerOptions, createAgentMcpServer } from './agent-server.ts'
import { McpServeError } from './errors.ts'

/** Options of `createAgentMcpHttpHandler`. */
export interface HttpHandlerOptions extends AgentMcpServerOptions {
  /** Where the endpoint is. Default `/mcp`. */
  readonly path?: string
  /** Require `Authorization: Bearer <token>` on every request. */
  readonly token?: string
  /**
   * Origins a browser may call from (DNS-rebinding protection). Default: only loopback origins
   * (`http://localhost:*`, `http://127.0.0.1:*`); requests without an `Origin` header are allowed.
   */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** Largest request body read, in bytes. Default 4 MiB. */
  readonly maxBodyBytes?: number
  /**
   * A session with no request in flight for this long is closed (clients that vanish without
   * `DELETE` would otherwise keep theirs forever); the client gets 404 and starts a new one.
   * Default 30 minutes.
   */
  readonly sessionIdleMs?: number
}

/** Options of `serveAgentsOverHttp`. */
export interface HttpServeOptions extends HttpHandlerOptions {
  /** Default 0: any free port (see `url`). */
  readonly port?: number
  /** Default `127.0.0.1`. Bound to loopback, requests must name a loopback `Host` too. */
  readonly hostname?: string
}

/** A Node request handler for the MCP endpoint, with one MCP session per client. */
export interface AgentMcpHttpHandler {
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>
  /** Sessions open now. */
  readonly sessions: number
  /** Closes every session (runs in flight keep running). */
  close(): Promise<void>
}

/** Agents served over Streamable HTTP. */
export interface HttpServing {
  /** The endpoint, e.g. `http://127.0.0.1:3001/mcp`. */
  readonly url: string
  readonly sessions: number
  /** Closes every session and stops listening; the runtime is the caller's to shut down. */
  close(): Promise<void>
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

const hostnameOf = (value: string): string | undefined => {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname
  } catch {
    return undefined
  }
}

const jsonRpcError = (response: ServerResponse, status: number, code: number, message: string) => {
  if (response.headersSent) return
  response
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

class BodyTooLarge extends Error {}

async function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > limit) throw new BodyTooLarge()
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  return text === '' ? undefined : JSON.parse(text)
}

/**
 * The MCP endpoint as a Node request handler, to mount in an HTTP server of your own. Each client
 * that initializes gets a session (`Mcp-Session-Id`) with its own MCP server over the shared
 * runtime, so elicitation answers and cancellations reach the right call; an unknown session is
 * answered 404 (the client starts a new one).
 */
export function createAgentMcpHttpHandler(options: HttpHandlerOptions): AgentMcpHttpHandler {
  // Checks the options (agents, tool names) now rather than at the first client.
  createAgentMcpServer(options)
  const path = options.path ?? '/mcp'
  const limit = options.maxBodyBytes ?? 4 * 1024 * 1024
  interface Session {
    readonly transport: StreamableHTTPServerTransport
    readonly server: Server
    /** Requests being answered now (a tool call's SSE stream stays open while its run goes on). */
    inFlight: number
    lastSeen: number
  }
  const sessions = new Map<string, Session>()
  const idleMs = options.sessionIdleMs ?? 30 * 60_000
  const sweep = setInterval(
    () => {
      const now = Date.now()
      for (const [id, session] of sessions)
        if (session.inFlight === 0 && now - session.lastSeen >= idleMs) {
          sessions.delete(id)
          void session.server.close().catch(() => undefined)
        }
    },
    Math.max(10, Math.min(60_000, idleMs / 2)),
  )
  sweep.unref()
  const allowedOrigin = (origin: string): boolean =>
    options.allowedOrigins === undefined
      ? loopbackHosts.has(hostnameOf(origin) ?? '')
      : options.allowedOrigins.includes(origin)

  const open = async (): Promise<StreamableHTTPServerTransport> => {
    const server = createAgentMcpServer(options)
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, inFlight: 0, lastSeen: Date.now() })
      },
    })
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
    }
    await server.connect(transport)
    return transport
  }

  return {
    get sessions() {
      return sessions.size
    },
    async handle(request, response) {
      const url = new URL(request.url ?? '/', 'http://localhost')
      if (url.pathname !== path) {
        response
          .writeHead(404, { 'content-type': 'text/plain' })
          .end(`not found; the MCP endpoint is ${path}\n`)
        return
      }
      const origin = request.headers.origin
      if (origin !== undefined && !allowedOrigin(origin))
        return jsonRpcError(response, 403, -32000, `origin ${origin} is not allowed`)
      if (options.token !== undefined) {
        const header = request.headers.authorization ?? ''
        const given = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
        if (given === undefined || !sameSecret(given, options.token)) {
          response.setHeader('www-authenticate', 'Bearer')
          return jsonRpcError(response, 401, -32001, 'missing or wrong bearer token')
        }
      }
      let body: unknown
      if (request.method === 'POST') {
        try {
          body = await readJson(request, limit)
        } catch (error) {
          return error instanceof BodyTooLarge
            ? jsonRpcError(response, 413, -32600, `request body over ${limit} bytes`)
            : jsonRpcError(response, 400, -32700, 'Parse error: the body is not JSON')
        }
      }
      const sessionId = request.headers['mcp-session-id']
      let transport: StreamableHTTPServerTransport | undefined
      if (typeof sessionId === 'string') {
        const session = sessions.get(sessionId)
        if (session === undefined) return jsonRpcError(response, 404, -32001, 'Session not found')
        transport = session.transport
        session.inFlight += 1
        response.once('close', () => {
          session.inFlight -= 1
          session.lastSeen = Date.now()
        })
      } else if (request.method === 'POST' && isInitializeRequest(body)) {
        transport = await open()
      } else {
        return jsonRpcError(response, 400, -32000, 'Bad Request: no Mcp-Session-Id (initialize first)')
      }
      await transport.handleRequest(request, response, body)
    },
    async close() {
      clearInterval(sweep)
      const open = [...sessions.values()]
      sessions.clear()
      await Promise.all(open.map(({ server }) => server.close().catch(() => undefined)))
    },
  }
}

/**
 * Serves the agents over Streamable HTTP on `hostname:port` (default 127.0.0.1, any free port) at
 * `/mcp`. Rejects with `McpServeError('listen-failed')` when the port cannot be bound.
 */
export async function serveAgentsOverHttp(options: HttpServeOptions): Promise<HttpServing> {
  const handler = createAgentMcpHttpHandler(options)
  const hostname = options.hostname ?? '127.0.0.1'
  const loopback = loopbackHosts.has(hostname)
  const http = createServer((request, response) => {
    // Bound to loopback, a request naming another host came through a rebinding DNS name.
    const host = hostnameOf(request.headers.host ?? '')
    if (loopback && !loopbackHosts.has(host ?? '')) {
      jsonRpcError(response, 403, -32000, `host ${request.headers.host ?? ''} is not allowed`)
      return
    }
    handler.handle(request, response).catch((error: unknown) => {
      options.onError?.(error)
      jsonRpcError(response, 500, -32603, 'Internal error')
    })
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) =>
      reject(
        new McpServeError(
          'listen-failed',
          `could not listen on ${hostname}:${options.port ?? 0}: ${error.message}`,
          {
            cause: error,
          },
        ),
      ),
    )
    http.listen(options.port ?? 0, hostname, () => resolve())
  })
  const { port } = http.address() as AddressInfo
  const host = hostname.includes(':') ? `[${hostname}]` : hostname
  return {
    url: `http://${host}:${port}${options.path ?? '/mcp'}`,
    get sessions() {
      return handler.sessions
    },
    async close() {
      await handler.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
