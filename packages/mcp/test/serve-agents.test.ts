import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  type CallToolResult,
  CallToolResultSchema,
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js'
import { Agent, asTool, contactHuman, createRuntime, type Runtime } from '@vel/actors'
import { defineTool, type Message, type ModelRequest } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { McpServeError } from '../src/errors.ts'
import { createAgentMcpServer, type HttpServing, serveAgentsOverHttp } from '../src/server.ts'
import { eventually, resultsOf, scripted } from './support.ts'

/** The text of the run's first user message. */
const asked = (request: ModelRequest): string => {
  const user = request.messages.find((message: Message) => message.role === 'user')
  return typeof user?.content === 'string' ? user.content : ''
}
const toolResults = (request: ModelRequest) => Object.values(resultsOf(request))

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a city up.',
  input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  handler: ({ city }: { city: string }) => ({ city, tempC: 18 }),
  sideEffects: 'none',
})
const booked: string[] = []
const book = defineTool({
  name: 'book',
  description: 'Books a room.',
  input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  handler: ({ city }: { city: string }) => {
    booked.push(city)
    return { booked: city }
  },
  needsApproval: true,
})
/** A tool that runs until its run is cancelled (or `release()`), telling when it starts and ends. */
const slow = (() => {
  const state = {
    started: Promise.resolve(),
    aborted: false,
    release: (): void => undefined,
    /** Arms the tool for the next call. */
    reset() {
      state.aborted = false
      state.started = new Promise<void>((resolve) => {
        onStart = resolve
      })
    },
  }
  let onStart: () => void = () => undefined
  const tool = defineTool({
    name: 'wait_long',
    description: 'Waits.',
    input: { type: 'object', properties: {} },
    handler: (_input: unknown, context) =>
      new Promise((resolve, reject) => {
        state.release = () => resolve('released')
        context.signal.addEventListener('abort', () => {
          state.aborted = true
          reject(new Error('aborted'))
        })
        onStart()
      }),
    sideEffects: 'none',
  })
  return { tool, state }
})()

/** A pipeline: `planner` hands the booking to `booker` (a child run), whose approval reaches the planner's call. */
const booker = (): Agent =>
  new Agent({
    id: 'booker',
    model: scripted((request) => {
      const [result] = toolResults(request) as Array<{ output?: unknown; error?: string }>
      if (result === undefined)
        return {
          toolCalls: [{ id: `call_book_${asked(request)}`, name: 'book', input: { city: asked(request) } }],
        }
      return { text: result.output ? `booked ${asked(request)}` : `not booked: ${result.error}` }
    }),
    tools: [book],
  })

const agents = [
  new Agent({ id: 'echo', model: scripted((request) => ({ text: `echo: ${asked(request)}` })) }),
  new Agent({
    id: 'weather',
    model: scripted((request) =>
      toolResults(request).length === 0
        ? { toolCalls: [{ id: 'call_lookup', name: 'lookup', input: { city: asked(request) } }] }
        : { text: `It is 18 °C in ${asked(request)}.` },
    ),
    tools: [lookup],
  }),
  new Agent({
    id: 'forecast',
    model: scripted((request) => ({ text: JSON.stringify({ city: asked(request), tempC: 18 }) })),
    output: {
      type: 'object',
      properties: { city: { type: 'string' }, tempC: { type: 'number' } },
      required: ['city', 'tempC'],
    },
  }),
  new Agent({
    id: 'booker',
    model: scripted((request) => {
      const [result] = toolResults(request) as Array<{ output?: unknown; error?: string }>
      if (result === undefined)
        return { toolCalls: [{ id: 'call_book', name: 'book', input: { city: asked(request) } }] }
      return { text: result.output ? `booked ${asked(request)}` : `not booked: ${result.error}` }
    }),
    tools: [book],
  }),
  (() => {
    const child = new Agent({ ...booker().options, id: 'child-booker' })
    return new Agent({
      id: 'planner',
      model: scripted((request) => {
        const [result] = toolResults(request) as Array<{ output?: unknown }>
        return result === undefined
          ? { toolCalls: [{ id: 'call_handoff', name: 'child-booker', input: { input: asked(request) } }] }
          : { text: `planner: ${JSON.stringify(result.output)}` }
      }),
      tools: [asTool(child)],
      children: [child],
    })
  })(),
  new Agent({
    id: 'asker',
    model: scripted((request) => {
      const [result] = toolResults(request) as Array<{ output?: unknown }>
      return result === undefined
        ? { toolCalls: [{ id: 'call_ask', name: 'contactHuman', input: { question: 'Which city?' } }] }
        : { text: `thanks: ${JSON.stringify(result.output)}` }
    }),
    tools: [contactHuman],
  }),
  new Agent({
    id: 'waiter',
    model: scripted((request) =>
      toolResults(request).length === 0
        ? { toolCalls: [{ id: 'call_wait', name: 'wait_long', input: {} }] }
        : { text: 'done waiting' },
    ),
    tools: [slow.tool],
  }),
]

type Elicit = (request: ElicitRequest) => ElicitResult | Promise<ElicitResult>

describe('Vel agents served over Streamable HTTP', () => {
  let runtime: Runtime
  let serving: HttpServing
  const clients: Client[] = []
  const connect = async (elicit?: Elicit): Promise<Client> => {
    const client = new Client(
      { name: elicit ? 'asking-client' : 'plain-client', version: '1.0.0' },
      { capabilities: elicit ? { elicitation: {} } : {} },
    )
    if (elicit) client.setRequestHandler(ElicitRequestSchema, (request) => elicit(request))
    await client.connect(new StreamableHTTPClientTransport(new URL(serving.url)))
    clients.push(client)
    return client
  }
  const call = async (client: Client, name: string, message: string, onprogress?: (text: string) => void) =>
    (await client.callTool(
      { name, arguments: { message } },
      CallToolResultSchema,
      onprogress ? { onprogress: (progress) => onprogress(progress.message ?? '') } : {},
    )) as CallToolResult
  const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text
  const runOf = (result: CallToolResult) => result._meta?.['vel/run'] as { runId: string; status: string }

  beforeAll(async () => {
    runtime = createRuntime({ store: createMemoryStore(), agents: [] })
    serving = await serveAgentsOverHttp({
      runtime,
      agents: [...agents, { agent: agents[0] as Agent, name: 'echo2', description: 'Echoes.' }],
    })
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()))
  })
  afterAll(async () => {
    await serving.close()
    await runtime.shutdown()
  })

  it('lists one tool per agent, with the message input and an outputSchema for a structured agent', async () => {
    const { tools } = await (await connect()).listTools()
    expect(tools.map((tool) => tool.name)).toEqual([
      'echo',
      'weather',
      'forecast',
      'booker',
      'planner',
      'asker',
      'waiter',
      'echo2',
      'follow_run',
    ])
    const echo = tools.find((tool) => tool.name === 'echo')
    expect(echo?.inputSchema).toMatchObject({ type: 'object', required: ['message'] })
    expect(echo?.outputSchema).toBeUndefined()
    expect(tools.find((tool) => tool.name === 'echo2')?.description).toBe('Echoes.')
    expect(tools.find((tool) => tool.name === 'forecast')?.outputSchema).toMatchObject({
      type: 'object',
      required: ['city', 'tempC'],
    })
  })

  it('runs an agent and returns its answer as text, and a structured answer as structuredContent', async () => {
    const client = await connect()
    const echo = await call(client, 'echo', 'hello')
    expect(echo.isError).toBeFalsy()
    expect(textOf(echo)).toBe('echo: hello')
    const { runId } = runOf(echo)
    expect((await runtime.record(runId))?.status).toBe('completed')
    expect((await runtime.record(runId))?.metadata).toMatchObject({
      startedVia: 'mcp',
      mcpClient: 'plain-client',
    })
    // The SDK client checks structuredContent against the published outputSchema.
    const forecast = await call(client, 'forecast', 'Oslo')
    expect(forecast.structuredContent).toEqual({ city: 'Oslo', tempC: 18 })
    expect(JSON.parse(textOf(forecast))).toEqual({ city: 'Oslo', tempC: 18 })
  })

  it('sends progress notifications for each step and tool call when the client asks for them', async () => {
    const client = await connect()
    const progress: string[] = []
    const result = await call(client, 'weather', 'Lisbon', (message) => progress.push(message))
    expect(textOf(result)).toBe('It is 18 °C in Lisbon.')
    expect(progress).toEqual([
      `run ${runOf(result).runId} started`,
      'step 1',
      'calling lookup',
      'lookup done',
      'step 2',
    ])
  })

  it('asks for an approval through elicitation and continues the run with the decision', async () => {
    const asked: ElicitRequest['params'][] = []
    const approving = await connect((request) => {
      asked.push(request.params)
      return { action: 'accept', content: { approved: true, reason: 'fine' } }
    })
    const result = await call(approving, 'booker', 'Lisbon')
    expect(textOf(result)).toBe('booked Lisbon')
    expect(booked).toContain('Lisbon')
    expect(asked).toHaveLength(1)
    expect(asked[0]?.message).toContain('book')
    expect(asked[0]?.message).toContain('"city":"Lisbon"')
    const journal = await runtime.journal(runOf(result).runId)
    expect(journal.map((entry) => entry.data)).toContainEqual(
      expect.objectContaining({
        type: 'approval.decided',
        approved: true,
        by: 'mcp:asking-client',
        reason: 'fine',
      }),
    )

    const denying = await connect(() => ({ action: 'decline' }))
    const denied = await call(denying, 'booker', 'Porto')
    expect(textOf(denied)).toContain('not booked')
    expect(booked).not.toContain('Porto')
  })

  it('asks a question through elicitation and gives the run the answer', async () => {
    const client = await connect((request) => {
      expect(request.params.message).toContain('Which city?')
      return { action: 'accept', content: { answer: 'Kyoto' } }
    })
    expect(textOf(await call(client, 'asker', 'plan a trip'))).toBe('thanks: "Kyoto"')
  })

  it('leaves the run waiting for a client without elicitation, saying how to answer it', async () => {
    const client = await connect()
    const result = await call(client, 'booker', 'Rome')
    expect(result.isError).toBe(true)
    const { runId, status } = runOf(result)
    expect(status).toBe('waiting')
    expect(textOf(result)).toContain(`Run ${runId} of agent 'booker' is waiting for a human`)
    expect(textOf(result)).toContain(`vel approve ${runId} call_book`)
    expect(textOf(result)).toContain(`POST /runs/${runId}/approvals/call_book`)
    expect(textOf(result)).toContain(`follow_run {"runId": "${runId}"}`)
    expect((await runtime.record(runId))?.status).toBe('waiting')
    expect(booked).not.toContain('Rome')
    // Answered elsewhere (HTTP, NATS and the CLI all call the runtime), the run goes on.
    await runtime.approve(runId, 'call_book', { by: 'ops' })
    await eventually(async () => expect((await runtime.record(runId))?.status).toBe('completed'))
    expect((await runtime.get(runId)).state.answer).toBe('booked Rome')
  })

  it("asks for a child run's approval too (a pipeline), and says how to answer it without elicitation", async () => {
    const approving = await connect(() => ({ action: 'accept', content: { approved: true } }))
    const progress: string[] = []
    const done = await call(approving, 'planner', 'Nice', (message) => progress.push(message))
    expect(textOf(done)).toBe('planner: "booked Nice"')
    expect(progress).toContain('child-booker: waiting for approval of book')
    expect(booked).toContain('Nice')

    const plain = await connect()
    const waiting = await call(plain, 'planner', 'Bern')
    const { runId, status } = runOf(waiting)
    expect(status).toBe('waiting')
    expect(textOf(waiting)).toContain(`vel approve ${runId} call_book_Bern`)
    // The child asked; the parent's id reaches it (the runtime finds the run that waits).
    await runtime.approve(runId, 'call_book_Bern', { by: 'ops' })
    await eventually(async () => expect((await runtime.record(runId))?.status).toBe('completed'))
    expect((await runtime.get(runId)).state.answer).toBe('planner: "booked Bern"')
  })

  it('continues a conversation given a sessionId: the second run sees the first', async () => {
    const client = await connect()
    const first = (await client.callTool({
      name: 'echo',
      arguments: { message: 'one', sessionId: 'mcp-session-1' },
    })) as CallToolResult
    const second = (await client.callTool({
      name: 'echo',
      arguments: { message: 'two', sessionId: 'mcp-session-1' },
    })) as CallToolResult
    expect(textOf(first)).toBe('echo: one')
    // The echo agent repeats the run's first user message: the session's history comes first.
    expect(textOf(second)).toBe('echo: one')
    expect((await runtime.record(runOf(second).runId))?.sessionId).toBe('mcp-session-1')
  })

  it('follows a run left waiting with follow_run: a client that can elicit answers it and gets the answer', async () => {
    const plain = await connect()
    const waiting = await call(plain, 'booker', 'Madrid')
    const { runId } = runOf(waiting)
    expect(runOf(waiting).status).toBe('waiting')
    const follow = (client: Client, id: string, onprogress?: (text: string) => void) =>
      client.callTool({ name: 'follow_run', arguments: { runId: id } }, CallToolResultSchema, {
        ...(onprogress ? { onprogress: (value) => onprogress(value.message ?? '') } : {}),
      }) as Promise<CallToolResult>
    // Still nobody to ask: still waiting.
    expect(runOf(await follow(plain, runId)).status).toBe('waiting')

    const asked: string[] = []
    const approving = await connect((request) => {
      asked.push(request.params.message)
      return { action: 'accept', content: { approved: true } }
    })
    const progress: string[] = []
    const done = await follow(approving, runId, (message) => progress.push(message))
    expect(textOf(done)).toBe('booked Madrid')
    expect(asked).toEqual([expect.stringContaining('book with {"city":"Madrid"}')])
    // Only what came after it started following: nothing of the first steps again.
    expect(progress[0]).toBe(`following run ${runId} (waiting)`)
    expect(progress.slice(1)).toEqual(['book done', 'step 2'])

    // A run that ended: its answer at once; an unknown id: an error result.
    expect(textOf(await follow(plain, runId))).toBe('booked Madrid')
    const unknown = await follow(plain, 'no-such-run')
    expect(unknown.isError).toBe(true)
    expect(textOf(unknown)).toContain('No run no-such-run')
  })

  it('leaves the run waiting when the person dismisses the elicitation', async () => {
    const client = await connect(() => ({ action: 'cancel' }))
    const result = await call(client, 'asker', 'plan a trip')
    expect(runOf(result).status).toBe('waiting')
    expect(textOf(result)).toContain(`vel answer ${runOf(result).runId} call_ask`)
  })

  /** Starts the waiter agent and resolves once its tool runs, with the run id and the pending call. */
  const startWaiting = async (client: Client, signal?: AbortSignal) => {
    slow.state.reset()
    const progress: string[] = []
    const pending = client
      .callTool({ name: 'waiter', arguments: { message: 'wait' } }, CallToolResultSchema, {
        ...(signal ? { signal } : {}),
        onprogress: (value) => progress.push(value.message ?? ''),
      })
      .catch((error: unknown) => error)
    await slow.state.started
    // The first progress notification names the run.
    const runId = await eventually(() => {
      const id = /^run (\S+) started$/.exec(progress[0] ?? '')?.[1]
      expect(id).toBeDefined()
      return id as string
    })
    return { runId, pending }
  }

  it('cancels the run when the client cancels the request', async () => {
    const client = await connect()
    const controller = new AbortController()
    const { runId, pending } = await startWaiting(client, controller.signal)
    controller.abort('changed my mind')
    expect(await pending).toBeInstanceOf(Error)
    await eventually(async () => expect((await runtime.record(runId))?.status).toBe('cancelled'))
    expect(slow.state.aborted).toBe(true)
  })

  it('leaves the run running when the session closes under it (a disconnect is no decision)', async () => {
    const client = await connect()
    const transport = client.transport as StreamableHTTPClientTransport
    const { runId } = await startWaiting(client)
    const open = serving.sessions
    await transport.terminateSession() // DELETE: the server closes the session's transport
    await eventually(() => expect(serving.sessions).toBe(open - 1))
    expect((await runtime.record(runId))?.status).toBe('running')
    slow.state.release()
    await eventually(async () => expect((await runtime.record(runId))?.status).toBe('completed'))
    expect(slow.state.aborted).toBe(false)
  })

  it('answers bad arguments with an error result and an unknown tool with a protocol error', async () => {
    const client = await connect()
    const bad = (await client.callTool({ name: 'echo', arguments: { text: 'hi' } })) as CallToolResult
    expect(bad.isError).toBe(true)
    expect(textOf(bad)).toContain("'message' must be a non-empty string")
    await expect(client.callTool({ name: 'nobody', arguments: { message: 'hi' } })).rejects.toThrow(
      'Unknown tool: nobody',
    )
  })

  it('refuses a request from a foreign origin and one for an unknown session', async () => {
    const foreign = await fetch(serving.url, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(foreign.status).toBe(403)
    const lost = await fetch(serving.url, {
      method: 'POST',
      headers: {
        'mcp-session-id': 'no-such-session',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(lost.status).toBe(404)
  })
})

describe('serving options', () => {
  it('rejects no agents and two agents served under one name', () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [] })
    expect(() => createAgentMcpServer({ runtime, agents: [] })).toThrow(McpServeError)
    const echo = agents[0] as Agent
    expect(() => createAgentMcpServer({ runtime, agents: [echo, { agent: echo }] })).toThrow(
      "two agents are served as 'echo'",
    )
    expect(() => createAgentMcpServer({ runtime, agents: [echo], followTool: 'echo' })).toThrow(McpServeError)
  })

  it('leaves the run waiting when nobody answers the elicitation in elicitationTimeoutMs', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [] })
    const booker = agents.find((agent) => agent.id === 'booker') as Agent
    const serving = await serveAgentsOverHttp({ runtime, agents: [booker], elicitationTimeoutMs: 200 })
    const client = new Client({ name: 'slow-human', version: '1' }, { capabilities: { elicitation: {} } })
    let asked = 0
    client.setRequestHandler(ElicitRequestSchema, () => {
      asked += 1
      return new Promise<ElicitResult>(() => undefined) // the person never answers
    })
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(serving.url)))
      const result = (await client.callTool({
        name: 'booker',
        arguments: { message: 'Oslo' },
      })) as CallToolResult
      expect(asked).toBe(1)
      const run = result._meta?.['vel/run'] as { runId: string; status: string }
      expect(run.status).toBe('waiting')
      expect((await runtime.record(run.runId))?.status).toBe('waiting')
      await client.close()
    } finally {
      await serving.close()
      await runtime.shutdown()
    }
  })

  it('closes the session of a client gone without DELETE, but not one whose call is still running', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [] })
    const waiter = agents.find((agent) => agent.id === 'waiter') as Agent
    // Long enough that no client under load is swept between its initialize and its next request.
    const serving = await serveAgentsOverHttp({ runtime, agents: [waiter], sessionIdleMs: 2_000 })
    try {
      const idle = new Client({ name: 'idle', version: '1' })
      await idle.connect(new StreamableHTTPClientTransport(new URL(serving.url)))
      const busy = new Client({ name: 'busy', version: '1' })
      await busy.connect(new StreamableHTTPClientTransport(new URL(serving.url)))
      slow.state.reset()
      const pending = busy.callTool({ name: 'waiter', arguments: { message: 'wait' } })
      await slow.state.started
      const idleId = (idle.transport as StreamableHTTPClientTransport).sessionId
      await idle.close() // drops its streams, sends no DELETE
      // The idle session goes; the busy one stays while its call runs.
      await eventually(() => expect(serving.sessions).toBe(1))
      const gone = await fetch(serving.url, {
        method: 'POST',
        headers: {
          'mcp-session-id': idleId ?? '',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      })
      expect(gone.status).toBe(404)
      slow.state.release()
      expect(((await pending) as CallToolResult).content).toEqual([{ type: 'text', text: 'done waiting' }])
      await busy.close()
    } finally {
      await serving.close()
      await runtime.shutdown()
    }
  })

  it('requires the bearer token when one is set', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [] })
    const serving = await serveAgentsOverHttp({ runtime, agents: [agents[0] as Agent], token: 'sesame' })
    try {
      const denied = new Client({ name: 't', version: '1' })
      await expect(denied.connect(new StreamableHTTPClientTransport(new URL(serving.url)))).rejects.toThrow()
      const allowed = new Client({ name: 't', version: '1' })
      await allowed.connect(
        new StreamableHTTPClientTransport(new URL(serving.url), {
          requestInit: { headers: { authorization: 'Bearer sesame' } },
        }),
      )
      expect((await allowed.listTools()).tools.map((tool) => tool.name)).toEqual(['echo', 'follow_run'])
      await allowed.close()
    } finally {
      await serving.close()
      await runtime.shutdown()
    }
  })
})
