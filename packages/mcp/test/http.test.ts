import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Agent, createRuntime } from '@vel/actors'
import type { ModelRequest, Tool } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as z from 'zod'
import { createMcpClient, type McpClient, McpConnectionError } from '../src/index.ts'
import {
  directContext,
  eventually,
  type HttpCatalog,
  resultsOf,
  scripted,
  startHttpCatalog,
} from './support.ts'

const names = (tools: ReadonlyArray<Tool>) => tools.map((tool) => tool.name)

describe('tools from a Streamable HTTP MCP server', () => {
  let catalog: HttpCatalog
  let mcp: McpClient
  beforeAll(async () => {
    catalog = await startHttpCatalog({ token: 'sesame' })
    mcp = await createMcpClient({
      servers: {
        shop: {
          url: catalog.url,
          headers: { authorization: 'Bearer sesame' },
          prefix: 'shop',
          tools: { wait: { timeoutMs: 300 } },
        },
      },
    })
  })
  afterAll(async () => {
    await mcp.close()
    await catalog.close()
  })

  it('offers the schemas exactly as the server publishes them, with policies from the annotations', async () => {
    const sdk = new Client({ name: 'plain-sdk-client', version: '1.0.0' })
    await sdk.connect(
      new StreamableHTTPClientTransport(new URL(catalog.url), {
        requestInit: { headers: { authorization: 'Bearer sesame' } },
      }),
    )
    const published = (await sdk.listTools()).tools
    await sdk.close()
    const tools = await mcp.tools()
    expect(names(tools)).toEqual(published.map((tool) => `shop_${tool.name}`))
    for (const tool of published)
      expect(tools.find((candidate) => candidate.name === `shop_${tool.name}`)?.inputSchema).toEqual(
        tool.inputSchema,
      )
    expect(
      Object.fromEntries(
        tools
          .filter((tool) => /lookup|set_value|delete_item/.test(tool.name))
          .map((tool) => [tool.name, tool.sideEffects]),
      ),
    ).toEqual({ shop_lookup: 'none', shop_set_value: 'idempotent', shop_delete_item: 'unsafe' })
  })

  it('lets an agent call the read-only, idempotent and destructive tools, and read an error result', async () => {
    const requests: ModelRequest[] = []
    const model = scripted((request) => {
      requests.push(request)
      if (requests.length === 1)
        return {
          toolCalls: [
            { id: 'look', name: 'shop_lookup', input: { key: 'apple' } },
            { id: 'set', name: 'shop_set_value', input: { key: 'apple', value: 'green' } },
            { id: 'delete', name: 'shop_delete_item', input: { key: 'apple' } },
            { id: 'fail', name: 'shop_fail', input: { key: 'kiwi' } },
          ],
        }
      return { text: 'done' }
    })
    const agent = new Agent({
      id: 'http-agent',
      model,
      tools: [...(await mcp.tools())],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await runtime.spawn('http-agent', 'shop', { runId: 'run-http' })
    expect(await handle.result).toBe('done')
    const results = resultsOf(requests[1])
    expect(results.look).toEqual({ output: { key: 'apple', value: 'red', pid: process.pid } })
    expect(results.set).toEqual({ output: 'apple is now green' })
    expect(results.delete).toEqual({ output: 'deleted apple' })
    expect(results.fail).toEqual({ error: "Tool 'shop_fail' failed: item 'kiwi' not found" })
    const calls = catalog.events.filter(
      (event) => event.kind === 'call' && String(event.key).startsWith('run-http:'),
    )
    expect(calls.map((event) => event.tool).sort()).toEqual(['delete_item', 'fail', 'lookup', 'set_value'])
    expect(calls.every((event) => typeof event.fencingToken === 'number')).toBe(true)
    await runtime.shutdown()
  })

  it('sends the cancellation to the server when the run is cancelled during a call', async () => {
    const model = scripted((request) =>
      request.messages.some((message) => message.role === 'tool')
        ? { text: 'stopped' }
        : { toolCalls: [{ id: 'long', name: 'shop_wait', input: {} }] },
    )
    // A client without the per-call limit on `wait`: only the cancel can end the call.
    const patient = await createMcpClient({
      servers: { shop: { url: catalog.url, headers: { authorization: 'Bearer sesame' }, prefix: 'shop' } },
    })
    const agent = new Agent({
      id: 'http-waiter',
      model,
      tools: [...(await patient.tools())],
      policies: { retry: false, toolTimeoutMs: 600_000 },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const cancelledBefore = catalog.events.filter((event) => event.kind === 'cancelled').length
    const handle = await runtime.spawn('http-waiter', 'wait', { runId: 'run-http-cancel' })
    const outcome = handle.result.catch((error: unknown) => error)
    await eventually(() =>
      expect(catalog.events).toContainEqual(expect.objectContaining({ key: 'run-http-cancel:long' })),
    )
    await handle.cancel()
    await eventually(() =>
      expect(catalog.events.filter((event) => event.kind === 'cancelled')).toHaveLength(cancelledBefore + 1),
    )
    expect(await outcome).toMatchObject({ _tag: 'RunError', reason: 'cancelled' })
    expect(catalog.events.at(-1)?.reason).not.toMatch(/timed out/)
    await runtime.shutdown()
    await patient.close()
  })

  it('ends a call at its per-call timeout: the model reads a timeout, the server is told to stop', async () => {
    const wait = (await mcp.tools()).find((tool) => tool.name === 'shop_wait')
    expect(wait?.timeoutMs).toBe(300)
    const cancelledBefore = catalog.events.filter((event) => event.kind === 'cancelled').length
    await expect(wait?.handler({}, directContext())).rejects.toMatchObject({
      _tag: 'ToolError',
      reason: 'timeout',
      message: "Tool 'shop_wait' timed out after 300 ms",
    })
    await eventually(() =>
      expect(catalog.events.filter((event) => event.kind === 'cancelled')).toHaveLength(cancelledBefore + 1),
    )
  })

  it('picks up tool-list changes the server announces', async () => {
    expect(catalog.servers.length).toBeGreaterThan(0)
    const added = catalog.servers.map((server) =>
      server.registerTool(
        'count',
        { description: 'Counts.', inputSchema: { upTo: z.number() }, annotations: { readOnlyHint: true } },
        async ({ upTo }) => ({ content: [{ type: 'text', text: String(upTo) }] }),
      ),
    )
    await eventually(async () => expect(names(await mcp.tools())).toContain('shop_count'))
    const count = (await mcp.tools()).find((tool) => tool.name === 'shop_count')
    expect(count?.sideEffects).toBe('none')
    expect(await count?.handler({ upTo: 3 }, directContext())).toBe('3')
    for (const tool of added) tool.remove()
    await eventually(async () => expect(names(await mcp.tools())).not.toContain('shop_count'))
  })

  it('gives an agent that has the client as a ToolSource the tools added during its run', async () => {
    const requests: ModelRequest[] = []
    let added: Array<{ remove(): void }> = []
    const model = scripted(async (request) => {
      requests.push(request)
      if (requests.length === 1) {
        added = catalog.servers.map((server) =>
          server.registerTool(
            'shout',
            { description: 'Shouts.', inputSchema: { text: z.string() } },
            async ({ text }) => ({
              content: [{ type: 'text', text: text.toUpperCase() }],
            }),
          ),
        )
        await eventually(async () => expect(names(await mcp.tools())).toContain('shop_shout'))
        return { toolCalls: [{ id: 'look', name: 'shop_lookup', input: { key: 'apple' } }] }
      }
      if (requests.length === 2)
        return { toolCalls: [{ id: 'shout', name: 'shop_shout', input: { text: 'hi' } }] }
      return { text: 'done' }
    })
    const agent = new Agent({ id: 'growing', model, tools: [mcp], policies: { retry: false } })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    try {
      expect(await (await runtime.spawn('growing', 'go')).result).toBe('done')
      expect(requests[0]?.tools?.map((tool) => tool.name)).not.toContain('shop_shout')
      expect(requests[1]?.tools?.map((tool) => tool.name)).toContain('shop_shout')
      expect(resultsOf(requests[2]).shout).toEqual({ output: 'HI' })
    } finally {
      for (const tool of added) tool.remove()
      await runtime.shutdown()
    }
  })

  it('reconnects after the server restarted and lost the session', async () => {
    const lookup = (await mcp.tools()).find((tool) => tool.name === 'shop_lookup')
    await catalog.restart()
    expect(catalog.servers).toHaveLength(0)
    expect(await lookup?.handler({ key: 'apple' }, directContext())).toEqual({
      key: 'apple',
      value: 'red',
      pid: process.pid,
    })
    expect(catalog.servers).toHaveLength(1)
    expect(names(await mcp.tools())).toContain('shop_lookup')
  })
})

describe('several servers', () => {
  it('keeps the first of two tools with one name and says so; a server that went away keeps its list', async () => {
    const first = await startHttpCatalog()
    const second = await startHttpCatalog()
    const errors: unknown[] = []
    const mcp = await createMcpClient({
      servers: { first: { url: first.url }, second: { url: second.url, include: ['lookup'] } },
      onError: (error) => errors.push(error),
    })
    try {
      const tools = await mcp.tools()
      expect(names(tools).filter((name) => name === 'lookup')).toHaveLength(1)
      expect(errors).toEqual([
        expect.objectContaining({
          _tag: 'McpConnectionError',
          server: 'second',
          message: expect.stringMatching(
            /tool 'lookup' of MCP server 'second' is hidden by the one of 'first'/,
          ),
        }),
      ])
      expect(names(await mcp.source('second').tools())).toEqual(['lookup'])
      await second.close()
      const [lookup] = await mcp.source('second').tools()
      await expect(lookup?.handler({ key: 'apple' }, directContext())).rejects.toThrow(
        /^Tool 'lookup' failed: MCP server 'second' is unavailable/,
      )
      // The server cannot be reached, but its source still offers what it had, without throwing.
      expect(names(await mcp.source('second').tools())).toEqual(['lookup'])
      expect(names(await mcp.tools())).toContain('lookup')
    } finally {
      await mcp.close()
      await first.close()
    }
  })
})

describe('authentication', () => {
  it('rejects a client without the header with a clear, typed error', async () => {
    const catalog = await startHttpCatalog({ token: 'sesame' })
    try {
      const attempt = createMcpClient({ servers: { shop: { url: catalog.url } } })
      await expect(attempt).rejects.toBeInstanceOf(McpConnectionError)
      await expect(attempt).rejects.toMatchObject({
        reason: 'unauthorized',
        server: 'shop',
        retryable: false,
        message: expect.stringMatching(
          /^MCP server 'shop' rejected the credentials \(HTTP 401\): check the headers/,
        ),
      })
      const wrong = createMcpClient({
        servers: { shop: { url: catalog.url, headers: { authorization: 'Bearer nope' } } },
      })
      await expect(wrong).rejects.toMatchObject({ reason: 'unauthorized' })
      expect(catalog.events).toEqual([])
    } finally {
      await catalog.close()
    }
  })

  it('reports an unreachable server as unavailable', async () => {
    const catalog = await startHttpCatalog()
    await catalog.close()
    await expect(createMcpClient({ servers: { gone: { url: catalog.url } } })).rejects.toMatchObject({
      _tag: 'McpConnectionError',
      reason: 'unavailable',
      retryable: true,
    })
  })
})
