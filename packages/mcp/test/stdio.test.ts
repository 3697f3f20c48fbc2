import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, createRuntime } from '@vel/actors'
import { type ModelRequest, RunError, type Tool, ToolError } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMcpClient, type McpClient, McpConnectionError } from '../src/index.ts'
import { directContext, eventually, readLog, resultsOf, scripted, stdioCatalog } from './support.ts'

const dir = mkdtempSync(join(tmpdir(), 'vel-mcp-stdio-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const byName = (tools: ReadonlyArray<Tool>, name: string): Tool => {
  const tool = tools.find((candidate) => candidate.name === name)
  if (tool === undefined) throw new Error(`no tool ${name} in ${tools.map((each) => each.name).join(', ')}`)
  return tool
}

describe('tools from a stdio MCP server', () => {
  const log = join(dir, 'catalog.log')
  let mcp: McpClient
  beforeAll(async () => {
    mcp = await createMcpClient({ servers: { catalog: stdioCatalog(log) } })
  })
  afterAll(() => mcp.close())

  it('lists the tools with their schemas as published and policies from their annotations', async () => {
    const tools = await mcp.tools()
    expect(Object.fromEntries(tools.map((tool) => [tool.name, tool.sideEffects]))).toEqual({
      lookup: 'none',
      set_value: 'idempotent',
      delete_item: 'unsafe',
      fail: 'none',
      wait: 'none',
      picture: 'none',
      crash_once: 'none',
      crash: 'unsafe',
    })
    expect(tools.every((tool) => tool.needsApproval === false)).toBe(true)
    const lookup = byName(tools, 'lookup')
    expect(lookup.description).toBe('Looks an item up.')
    expect(lookup.inputSchema).toMatchObject({
      type: 'object',
      properties: { key: { type: 'string' } },
      required: ['key'],
    })
    expect(lookup.spec.inputSchema).toBe(lookup.inputSchema)
  })

  it('lets an agent call each tool: structured, text and image results, and an error result', {
    timeout: 45_000,
  }, async () => {
    const requests: ModelRequest[] = []
    const model = scripted((request) => {
      requests.push(request)
      if (requests.length === 1)
        return {
          toolCalls: [
            { id: 'look', name: 'lookup', input: { key: 'apple' } },
            { id: 'set', name: 'set_value', input: { key: 'pear', value: 'green' } },
            { id: 'delete', name: 'delete_item', input: { key: 'plum' } },
            { id: 'fail', name: 'fail', input: { key: 'nope' } },
            { id: 'picture', name: 'picture', input: {} },
            { id: 'bad', name: 'lookup', input: { key: 7 } },
          ],
        }
      return { text: 'done' }
    })
    const agent = new Agent({
      id: 'stdio-agent',
      model,
      tools: [...(await mcp.tools())],
      // toolTimeoutMs under the test's own limit: a call that never comes back fails the
      // assertions below, which then name it (CI once saw this test time out as a whole).
      policies: { retry: false, toolTimeoutMs: 20_000 },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await runtime.spawn('stdio-agent', 'use the catalog', { runId: 'run-stdio' })
    expect(await handle.result).toBe('done')

    const results = resultsOf(requests[1])
    expect(results.look).toEqual({ output: { key: 'apple', value: 'red', pid: expect.any(Number) } })
    expect(results.set).toEqual({ output: 'pear is now green' })
    expect(results.delete).toEqual({ output: 'no plum to delete' })
    expect(results.fail).toEqual({ error: "Tool 'fail' failed: item 'nope' not found" })
    expect(results.picture).toEqual({
      output: [
        { type: 'text', text: 'a red pixel' },
        { type: 'image', data: expect.stringMatching(/^iVBOR/), mimeType: 'image/png' },
      ],
    })
    // Vel checks the published schema before calling: the server never sees the bad call.
    expect(results.bad).toEqual({ error: expect.stringMatching(/^Invalid arguments for 'lookup': .*\/key/) })
    const calls = readLog(log).filter((event) => event.kind === 'call')
    expect(calls.map((event) => [event.tool, event.key])).toEqual(
      expect.arrayContaining([
        ['lookup', 'run-stdio:look'],
        ['set_value', 'run-stdio:set'],
        ['delete_item', 'run-stdio:delete'],
        ['fail', 'run-stdio:fail'],
      ]),
    )
    expect(calls.filter((event) => event.key === 'run-stdio:bad')).toEqual([])
    await runtime.shutdown()
  })

  it('sends the cancellation to the server when the run is cancelled during a call', async () => {
    const model = scripted((request) =>
      request.messages.some((message) => message.role === 'tool')
        ? { text: 'stopped' }
        : { toolCalls: [{ id: 'long', name: 'wait', input: {} }] },
    )
    const agent = new Agent({
      id: 'waiter',
      model,
      tools: [...(await mcp.tools())],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await runtime.spawn('waiter', 'wait', { runId: 'run-cancel' })
    const outcome = handle.result.catch((error: unknown) => error)
    await eventually(() =>
      expect(readLog(log)).toContainEqual(expect.objectContaining({ key: 'run-cancel:long' })),
    )
    await handle.cancel('user pressed stop')
    await eventually(() =>
      expect(readLog(log)).toContainEqual(expect.objectContaining({ kind: 'cancelled', tool: 'wait' })),
    )
    expect(RunError.isInstance(await outcome)).toBe(true)
    expect(await outcome).toMatchObject({ reason: 'cancelled' })
    await runtime.shutdown()
  })

  it('restarts a stdio server that died: the call in flight fails readably, the next one works', async () => {
    const tools = await mcp.tools()
    const before = (await byName(tools, 'lookup').handler({ key: 'apple' }, directContext())) as {
      pid: number
    }
    const crash = byName(tools, 'crash').handler({}, directContext())
    await expect(crash).rejects.toBeInstanceOf(ToolError)
    await expect(crash).rejects.toThrow(/connection to MCP server 'catalog' was lost during the call/)
    const after = (await byName(tools, 'lookup').handler({ key: 'apple' }, directContext())) as {
      pid: number
    }
    expect(after.pid).not.toBe(before.pid)
    expect((await mcp.tools()).map((tool) => tool.name)).toContain('lookup')
  })

  it('sends a read-only call once more on a new server process when the first one died during it', async () => {
    const tool = byName(await mcp.tools(), 'crash_once')
    expect(tool.sideEffects).toBe('none')
    expect(await tool.handler({}, directContext())).toBe('survived')
    const calls = readLog(log).filter((event) => event.tool === 'crash_once')
    expect(calls).toHaveLength(2)
    expect(calls[0]?.pid).not.toBe(calls[1]?.pid)
  })

  it('closes idempotently: afterwards no tools are offered and calls fail as tool errors', async () => {
    const other = await createMcpClient({ servers: { catalog: stdioCatalog(join(dir, 'closing.log')) } })
    const lookup = byName(await other.tools(), 'lookup')
    await Promise.all([other.close(), other.close()])
    await other.close()
    expect(await other.tools()).toEqual([])
    await expect(lookup.handler({ key: 'apple' }, directContext())).rejects.toThrow(
      /the MCP client is closed/,
    )
  })
})

describe('options and naming', () => {
  it('prefixes names, requires approval for destructive tools, and applies per-tool overrides', async () => {
    const mcp = await createMcpClient({
      servers: {
        catalog: {
          ...stdioCatalog(join(dir, 'policy.log')),
          prefix: true,
          approveDestructive: true,
          include: ['lookup', 'set_value', 'delete_item', 'crash'],
          tools: {
            crash: { needsApproval: false, sideEffects: 'none', timeoutMs: 1234 },
            catalog_lookup: { description: 'Finds an item.' },
          },
        },
      },
    })
    try {
      const tools = await mcp.tools()
      expect(
        tools.map((tool) => [tool.name, tool.sideEffects, tool.needsApproval, tool.timeoutMs ?? null]),
      ).toEqual([
        ['catalog_lookup', 'none', false, null],
        ['catalog_set_value', 'idempotent', false, null],
        ['catalog_delete_item', 'unsafe', true, null],
        ['catalog_crash', 'none', false, 1234],
      ])
      expect(byName(tools, 'catalog_lookup').description).toBe('Finds an item.')
      expect(mcp.source('catalog').name).toBe('catalog')
      expect(() => mcp.source('github')).toThrow(McpConnectionError)
    } finally {
      await mcp.close()
    }
  })

  it('asks for approval before a destructive call and runs it once approved', async () => {
    const log = join(dir, 'approval.log')
    const mcp = await createMcpClient({
      servers: { catalog: { ...stdioCatalog(log), approveDestructive: true } },
    })
    const model = scripted((request) =>
      request.messages.some((message) => message.role === 'tool')
        ? { text: 'deleted' }
        : { toolCalls: [{ id: 'del', name: 'delete_item', input: { key: 'apple' } }] },
    )
    const agent = new Agent({
      id: 'careful',
      model,
      tools: [...(await mcp.tools())],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await runtime.spawn('careful', 'delete the apple', { runId: 'run-approve', stream: true })
    const parts: Array<{ type: string }> = []
    for await (const part of handle.parts()) {
      parts.push(part)
      if (part.type === 'tool-approval-request') {
        expect(readLog(log).filter((event) => event.tool === 'delete_item')).toEqual([])
        await handle.approve('del')
      }
    }
    expect(await handle.result).toBe('deleted')
    expect(readLog(log).filter((event) => event.tool === 'delete_item')).toHaveLength(1)
    await runtime.shutdown()
    await mcp.close()
  })

  it('rejects a server that cannot start with a typed error', async () => {
    const failing = createMcpClient({ servers: { ghost: { command: join(dir, 'no-such-binary') } } })
    await expect(failing).rejects.toBeInstanceOf(McpConnectionError)
    await expect(failing).rejects.toMatchObject({ reason: 'unavailable', server: 'ghost' })
    await expect(createMcpClient({ servers: { 'bad name!': { command: 'node' } } })).rejects.toMatchObject({
      reason: 'invalid-options',
    })
  })
})
