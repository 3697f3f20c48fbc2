import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import type { LanguageModel, ModelRequest, StreamPart, ToolContext } from '@vel/core'
import { assertWellFormedStream } from '@vel/core'
import { createScriptedModel, type ScriptedResponse } from '@vel/providers/testing'
import { vi } from 'vitest'
import { type CatalogOptions, createCatalogServer, type ServerEvent } from './fixtures/catalog-tools.ts'

export const stdioServerScript = fileURLToPath(new URL('./fixtures/stdio-server.ts', import.meta.url))

/** The stdio catalog server as `createMcpClient` options. */
export const stdioCatalog = (log: string, hang: ReadonlyArray<string> = []) => ({
  command: process.execPath,
  args: ['--import', 'tsx', stdioServerScript],
  env: { CATALOG_LOG: log, CATALOG_HANG: hang.join(','), CATALOG_MARKER: `${log}.crashed` },
  stderr: 'inherit' as const,
})

/** What the stdio server logged. */
export const readLog = (path: string): Array<ServerEvent & { pid: number }> => {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  return text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ServerEvent & { pid: number })
}

/** A Streamable HTTP catalog server on 127.0.0.1, stateful (one `McpServer` per session). */
export interface HttpCatalog {
  readonly url: string
  readonly events: ServerEvent[]
  /** One per live session: register or remove tools on them to change the list. */
  readonly servers: McpServer[]
  /** Resolves when the server has seen a call of `tool`. */
  called(tool: string): Promise<void>
  /** Forgets every session and serves on the same port again (as a restarted server would). */
  restart(): Promise<void>
  close(): Promise<void>
}

const readBody = async (request: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text === '' ? undefined : JSON.parse(text)
}

export async function startHttpCatalog(
  options: { token?: string; hang?: CatalogOptions['hang'] } = {},
): Promise<HttpCatalog> {
  const events: ServerEvent[] = []
  const waiters: Array<{ tool: string; resolve: () => void }> = []
  const servers: McpServer[] = []
  let sessions = new Map<string, StreamableHTTPServerTransport>()
  const record = (event: ServerEvent) => {
    events.push(event)
    for (const waiter of waiters.filter(
      (candidate) => event.kind === 'call' && candidate.tool === event.tool,
    ))
      waiter.resolve()
  }

  const listen = (port: number) => {
    const http: Server = createServer(async (request, response) => {
      if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
        response.writeHead(401, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32001, message: 'missing or wrong bearer token' },
            id: null,
          }),
        )
        return
      }
      const body = request.method === 'POST' ? await readBody(request) : undefined
      const sessionId = request.headers['mcp-session-id']
      let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined
      if (transport === undefined) {
        if (sessionId !== undefined || !isInitializeRequest(body)) {
          response.writeHead(404, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              error: { code: -32001, message: 'Session not found' },
              id: null,
            }),
          )
          return
        }
        const owned = sessions
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            owned.set(id, created)
          },
        })
        const server = createCatalogServer({
          record,
          ...(options.hang === undefined ? {} : { hang: options.hang }),
        })
        servers.push(server)
        created.onclose = () => {
          if (created.sessionId !== undefined) owned.delete(created.sessionId)
          servers.splice(servers.indexOf(server), 1)
        }
        await server.connect(created)
        transport = created
      }
      await transport.handleRequest(request, response, body)
    })
    return new Promise<Server>((resolve) => http.listen(port, '127.0.0.1', () => resolve(http)))
  }

  let http = await listen(0)
  const port = (http.address() as AddressInfo).port
  const stop = async () => {
    const open = [...sessions.values()]
    sessions = new Map()
    await Promise.all(open.map((transport) => transport.close()))
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    events,
    servers,
    called: (tool) =>
      events.some((event) => event.kind === 'call' && event.tool === tool)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ tool, resolve })),
    restart: async () => {
      await stop()
      http = await listen(port)
    },
    close: stop,
  }
}

/** A scripted model computed from each request, without recording. */
export const scripted = (
  respond: (request: ModelRequest) => ScriptedResponse | Promise<ScriptedResponse>,
): LanguageModel => createScriptedModel({ record: false, respond: (request) => respond(request) })

/** The tool results the model received in its last request, by tool call id. */
export const resultsOf = (request: ModelRequest | undefined): Record<string, unknown> => {
  const results: Record<string, unknown> = {}
  for (const message of request?.messages ?? [])
    if (message.role === 'tool')
      for (const part of message.content)
        results[part.toolCallId] = 'output' in part ? { output: part.output } : { error: part.error }
  return results
}

export async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const all: StreamPart[] = []
  for await (const part of parts) all.push(part)
  assertWellFormedStream(all)
  return all
}

/** A tool context for calling a handler directly, outside a run. */
export const directContext = (signal: AbortSignal = new AbortController().signal): ToolContext => ({
  runId: 'run-direct',
  sessionId: null,
  agentId: 'direct',
  toolCallId: `call-${randomUUID()}`,
  idempotencyKey: `run-direct:${randomUUID()}`,
  signal,
  app: {},
})

/** Retries `check` until it passes (the far side acts asynchronously); fails after 10 s. */
export const eventually = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 10_000, interval: 20 })
