import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  type CallToolResult,
  CallToolResultSchema,
  ElicitRequestSchema,
  ProgressNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { afterAll, describe, expect, it } from 'vitest'

const bin = fileURLToPath(new URL('../bin/vel.js', import.meta.url))
const agents = fileURLToPath(new URL('./fixtures/agents.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-mcp-'))
const store = `sqlite:${join(dir, 'vel.db')}`
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Each test starts `vel` processes: slow on a loaded machine, hence the long time limits.

/** The SDK's stdio transport passes only a safe environment: add what the workspace needs. */
const env = {
  ...getDefaultEnvironment(),
  NO_COLOR: '1',
  ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
}

const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text
const runOf = (result: CallToolResult) => result._meta?.['vel/run'] as { runId: string; status: string }

const vel = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

describe('vel mcp over stdio, started by the SDK client', () => {
  it('lists the agents, runs one with progress, and asks its approval through elicitation', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, 'mcp', '--agents', agents, '--store', store],
      cwd: dir,
      env,
      stderr: 'pipe',
    })
    let log = ''
    transport.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString()
    })
    const client = new Client({ name: 'stdio-test', version: '1.0.0' }, { capabilities: { elicitation: {} } })
    const asked: string[] = []
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message)
      return { action: 'accept', content: { approved: true } }
    })
    try {
      await client.connect(transport)
      const { tools } = await client.listTools()
      // One tool per agent of the fixtures module, in its order, and the one that follows runs.
      const module = (await import(agents)) as { default: Array<{ id: string }> }
      expect(tools.map((tool) => tool.name)).toEqual([
        ...module.default.map((agent) => agent.id),
        'follow_run',
      ])

      // Recorded by a handler of our own: the SDK's client retires a call's progress handler when its
      // response is read, and a notification read in the same chunk (the last step's, sent just
      // before the result) then reaches it too late and is dropped (typescript-sdk issue 2580).
      const progress: string[] = []
      client.setNotificationHandler(ProgressNotificationSchema, (notification) => {
        progress.push(notification.params.message ?? '')
      })
      const echo = (await client.callTool(
        { name: 'echo', arguments: { message: 'hi' } },
        CallToolResultSchema,
        // A progress callback makes the client send a progress token.
        { onprogress: () => undefined },
      )) as CallToolResult
      expect(textOf(echo)).toBe('hello from echo')
      expect(progress).toEqual([`run ${runOf(echo).runId} started`, 'step 1'])

      const booked = (await client.callTool({
        name: 'booker',
        arguments: { message: 'book Lisbon' },
      })) as CallToolResult
      expect(textOf(booked)).toBe('booked')
      expect(asked).toEqual([expect.stringContaining('book with {"city":"Lisbon"}')])
    } finally {
      await client.close()
    }
    // The client closed stdin: the command stops by itself, and said what it served on stderr.
    expect(log).toContain('serving transport=stdio tools=echo,booker,asker')
    expect(log).toContain('stopping')
    const runs = JSON.parse(
      (await vel('runs', '--agent', 'booker', '--store', store, '--json')).stdout,
    ) as Array<{
      status: string
    }>
    expect(runs.map((run) => run.status)).toEqual(['completed'])
  }, 120_000)
})

describe('vel mcp over stdio, its end', () => {
  it('stops by itself, exit code 0, when the client closes stdin', async () => {
    const child = spawn(process.execPath, [bin, 'mcp', '--agents', agents, '--store', store], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let log = ''
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    )
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        if (log.includes('serving')) resolve()
      })
    })
    child.stdin?.end()
    expect(await exited).toEqual({ code: 0, signal: null })
    expect(log).toContain('stopping')
  }, 60_000)
})

describe('vel mcp --http', () => {
  it('serves Streamable HTTP; a client without elicitation gets a waiting run that vel approve continues', async () => {
    const child = spawn(process.execPath, [bin, 'mcp', '--http', '0', '--agents', agents, '--store', store], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let log = ''
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        const found = /url=(http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(log)?.[1]
        if (found) resolve(found)
      })
      child.once('exit', () => reject(new Error(`vel mcp exited: ${log}`)))
    })
    const client = new Client({ name: 'http-test', version: '1.0.0' })
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)))
      const echo = (await client.callTool({ name: 'echo', arguments: { message: 'hi' } })) as CallToolResult
      expect(textOf(echo)).toBe('hello from echo')

      const waiting = (await client.callTool({
        name: 'booker',
        arguments: { message: 'book Lisbon' },
      })) as CallToolResult
      expect(waiting.isError).toBe(true)
      const { runId, status } = runOf(waiting)
      expect(status).toBe('waiting')
      expect(textOf(waiting)).toContain(`vel approve ${runId} call_book`)

      // Another process answers it, as the result says.
      const approved = await vel(
        'approve',
        runId,
        'call_book',
        '--agents',
        agents,
        '--store',
        store,
        '--json',
      )
      expect(approved.code).toBe(0)
      expect(JSON.parse(approved.stdout)).toMatchObject({ runId, status: 'completed', answer: 'booked' })
    } finally {
      await client.close()
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      expect(await exited).toBe(0)
    }
  }, 120_000)

  it('refuses --auth without --http', async () => {
    const result = await vel('mcp', '--auth', 'x', '--agents', agents, '--store', store)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--host and --auth need --http <port>')
  }, 60_000)
})
