import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool as McpToolDefinition,
} from '@modelcontextprotocol/sdk/types.js'
import type { Agent, Runtime } from '@vel/actors'
import type { JsonObject } from '@vel/core'
import { callAgent, followRun, type RunFollower } from './agent-call.ts'
import { canElicit, elicit } from './agent-elicitation.ts'
import { failedResult } from './agent-result.ts'
import { McpServeError } from './errors.ts'

/** One agent served as an MCP tool, with how clients see it. */
export interface ServedAgent {
  readonly agent: Agent
  /** The tool's name. Default: the agent's id. */
  readonly name?: string
  /** Shown to clients (and their models) to decide when to call the agent. */
  readonly description?: string
  /** A human-readable name for client UIs. */
  readonly title?: string
}

/** Options of `createAgentMcpServer` and of the `serveAgentsOver*` functions. */
export interface AgentMcpServerOptions {
  /** Where the runs live; every call goes through its public API (spawn, stream, approve, ...). */
  readonly runtime: Runtime
  /** Each becomes one tool that runs the agent; an agent the runtime does not know is registered with it. */
  readonly agents: ReadonlyArray<Agent | ServedAgent>
  /** The server's name in the initialize handshake. Default `vel`. */
  readonly name?: string
  readonly version?: string
  /** Sent to clients at initialize (what the agents are for). */
  readonly instructions?: string
  /**
   * How long an approval or question asked through elicitation may wait for the person; after it
   * the run is left waiting and the result says how to answer it. Default 10 minutes.
   */
  readonly elicitationTimeoutMs?: number
  /**
   * The name of an extra tool that follows an existing run (`{ runId }`): one a call left waiting
   * or whose client went away. It returns the answer once the run ends, asking its open requests
   * through elicitation on the way, with progress; cancelling it only stops following. `false`:
   * no such tool. Default `follow_run`.
   */
  readonly followTool?: string | false
  /** Failures no caller sees (a progress notification that could not be sent). Default: none. */
  readonly onError?: (error: unknown) => void
}

const toolNamePattern = /^[A-Za-z0-9_.-]{1,128}$/

const inputSchema = {
  type: 'object',
  properties: {
    message: { type: 'string', minLength: 1, description: 'The task or question for the agent.' },
    sessionId: {
      type: 'string',
      minLength: 1,
      description:
        'Continue a conversation: runs with the same sessionId share their history (one run at a time).',
    },
  },
  required: ['message'],
  additionalProperties: false,
} as const

const defaultDescription = (agent: Agent) =>
  `Runs the Vel agent '${agent.id}' on a task and returns its answer. Progress is reported while it works; an approval or a question it raises is asked through elicitation when the client supports it.`

interface Entry {
  readonly agent: Agent
  readonly name: string
  readonly definition: Promise<McpToolDefinition>
}

/** Each agent's tool name and definition; throws `McpServeError('invalid-options')`. */
function entriesOf(options: AgentMcpServerOptions): Map<string, Entry> {
  if (options.agents.length === 0)
    throw new McpServeError('invalid-options', 'no agents to serve: pass at least one in `agents`')
  const entries = new Map<string, Entry>()
  for (const item of options.agents) {
    const served: ServedAgent = 'agent' in item ? item : { agent: item }
    const name = served.name ?? served.agent.id
    if (!toolNamePattern.test(name))
      throw new McpServeError('invalid-options', `tool name '${name}' must match ${toolNamePattern}`)
    if (entries.has(name)) throw new McpServeError('invalid-options', `two agents are served as '${name}'`)
    const definition = served.agent.outputSchema().then(
      (schema): McpToolDefinition => ({
        name,
        ...(served.title === undefined ? {} : { title: served.title }),
        description: served.description ?? defaultDescription(served.agent),
        inputSchema: inputSchema as unknown as McpToolDefinition['inputSchema'],
        ...(isObjectSchema(schema) ? { outputSchema: schema as McpToolDefinition['outputSchema'] } : {}),
        annotations: { readOnlyHint: false, openWorldHint: true },
      }),
    )
    definition.catch(() => undefined)
    entries.set(name, { agent: served.agent, name, definition })
  }
  return entries
}

type RequestExtra = Parameters<Parameters<Server['setRequestHandler']>[1]>[1]

const followDefinition = (name: string): McpToolDefinition => ({
  name,
  description:
    "Follows a run of one of this server's agents, e.g. one a call left waiting for a human: returns the agent's answer once the run ends (asking its open approvals and questions through elicitation when the client supports it), or says what it still waits for.",
  inputSchema: {
    type: 'object',
    properties: {
      runId: { type: 'string', description: 'The run id, from a result\'s _meta["vel/run"].runId.' },
    },
    required: ['runId'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: false, openWorldHint: true },
})

/** MCP's `outputSchema` must describe an object; an agent answering an array or a number publishes none. */
const isObjectSchema = (schema: JsonObject | undefined): boolean => schema?.type === 'object'

/** The arguments of a call, checked (the SDK does not check a low-level server's input). */
function argumentsOf(value: unknown): { message: string; sessionId?: string } | string {
  const args = (value ?? {}) as Record<string, unknown>
  if (typeof args.message !== 'string' || args.message.trim() === '')
    return "Invalid arguments: 'message' must be a non-empty string (the task for the agent)."
  if (args.sessionId !== undefined && (typeof args.sessionId !== 'string' || args.sessionId === ''))
    return "Invalid arguments: 'sessionId' must be a non-empty string when given."
  const unknown = Object.keys(args).filter((key) => key !== 'message' && key !== 'sessionId')
  if (unknown.length > 0) return `Invalid arguments: unknown ${unknown.map((key) => `'${key}'`).join(', ')}.`
  return {
    message: args.message,
    ...(typeof args.sessionId === 'string' ? { sessionId: args.sessionId } : {}),
  }
}

/**
 * An MCP server (the SDK's low-level `Server`, not yet connected) whose tools are the agents. A
 * call starts a run through the runtime and returns the agent's answer: text, plus
 * `structuredContent` when the agent has an object `output` schema (published as the tool's
 * `outputSchema`). With a `progressToken` the client hears of each step, tool call and request.
 * Approvals and questions go to the client as elicitations when it declared the `elicitation`
 * capability; otherwise the run is left waiting and the (error) result names the run and how to
 * answer it over the CLI, HTTP or NATS. `notifications/cancelled` cancels the run; a connection
 * that closes leaves it running. Connect it to one transport (`server.connect(transport)`); for
 * several clients make one server per session, as `serveAgentsOverHttp` does.
 */
export function createAgentMcpServer(options: AgentMcpServerOptions): Server {
  const entries = entriesOf(options)
  const { runtime } = options
  for (const { agent } of entries.values()) if (!runtime.hasAgent(agent.id)) runtime.register(agent)
  const report = options.onError ?? (() => undefined)
  const elicitationTimeoutMs = options.elicitationTimeoutMs ?? 600_000
  const followName = options.followTool === false ? undefined : (options.followTool ?? 'follow_run')
  if (followName !== undefined && (entries.has(followName) || !toolNamePattern.test(followName)))
    throw new McpServeError(
      'invalid-options',
      `followTool '${followName}' clashes with an agent's tool or is not a valid name`,
    )
  const server = new Server(
    { name: options.name ?? 'vel', version: options.version ?? '0.1.0' },
    { capabilities: { tools: {} }, ...(options.instructions ? { instructions: options.instructions } : {}) },
  )
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      ...(await Promise.all([...entries.values()].map((entry) => entry.definition))),
      ...(followName === undefined ? [] : [followDefinition(followName)]),
    ],
  }))
  /** What following a run for this request needs: progress, elicitation, who decides. */
  const followerFor = async (entry: Entry, extra: RequestExtra): Promise<RunFollower> => {
    const token = extra._meta?.progressToken
    let progress = 0
    const client = server.getClientVersion()?.name
    return {
      runtime,
      agentId: entry.agent.id,
      structured: isObjectSchema((await entry.definition).outputSchema as JsonObject | undefined),
      signal: extra.signal,
      // The SDK aborts every handler when the connection closes, then drops the transport.
      cancelled: () => server.transport !== undefined,
      ...(token === undefined
        ? {}
        : {
            progress: (message: string) =>
              extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { progressToken: token, progress: ++progress, message },
                })
                .catch(report),
          }),
      ...(canElicit(server)
        ? {
            ask: (humanRequest) =>
              elicit(server, entry.agent.id, humanRequest, {
                relatedRequestId: extra.requestId,
                signal: extra.signal,
                timeoutMs: elicitationTimeoutMs,
                onError: report,
              }),
          }
        : {}),
      by: client === undefined ? 'mcp' : `mcp:${client}`,
      ...(followName === undefined ? {} : { followTool: followName }),
    }
  }
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (followName !== undefined && request.params.name === followName)
      return followExisting(request.params.arguments, extra)
    const entry = entries.get(request.params.name)
    if (entry === undefined)
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`)
    const args = argumentsOf(request.params.arguments)
    if (typeof args === 'string') return failedResult(args)
    const client = server.getClientVersion()?.name
    return callAgent({
      ...(await followerFor(entry, extra)),
      ...args,
      metadata: { startedVia: 'mcp', ...(client === undefined ? {} : { mcpClient: client }) },
    })
  })
  /** `follow_run`: an existing run of a served agent, from now on. */
  const followExisting = async (value: unknown, extra: RequestExtra) => {
    const runId = (value as { runId?: unknown } | undefined)?.runId
    if (typeof runId !== 'string' || runId === '')
      return failedResult("Invalid arguments: 'runId' must be the id of a run (from a result's _meta).")
    const record = await runtime.record(runId)
    const entry = [...entries.values()].find((candidate) => candidate.agent.id === record?.agentId)
    if (record === undefined || entry === undefined)
      return failedResult(`No run ${runId} of the agents this server serves.`)
    const { seq } = await runtime.get(runId)
    return followRun(await followerFor(entry, extra), runId, {
      first: `following run ${runId} (${record.status})`,
      cancelOnAbort: false,
      after: { seq, index: Number.MAX_SAFE_INTEGER },
    })
  }
  return server
}
