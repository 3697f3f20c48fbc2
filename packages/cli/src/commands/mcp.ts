import type { Command } from '../command.ts'
import { portFlag, stringFlag } from '../command.ts'
import { createServeLog, runLog } from '../serve-log.ts'
import { describeStore } from '../store-spec.ts'
import { UsageError } from '../usage-error.ts'
import { version } from '../version.ts'
import { agentsOption, jsonOption, openWorkspace, storeOption, storeSpecOf } from '../workspace.ts'

/** `vel mcp`: the agents of a module as MCP tools, over stdio (default) or Streamable HTTP. */
export const mcpCommand: Command = {
  name: 'mcp',
  summary: 'Serve agents as MCP tools (stdio, or Streamable HTTP with --http)',
  positionals: [],
  options: {
    agents: agentsOption,
    store: storeOption,
    http: {
      type: 'string',
      placeholder: '<port>',
      description: 'Serve Streamable HTTP on this port (0 picks one) at /mcp instead of stdio.',
    },
    host: {
      type: 'string',
      placeholder: '<ip>',
      description: 'With --http: the interface to bind (default 127.0.0.1).',
    },
    auth: {
      type: 'string',
      placeholder: '<token>',
      description: 'With --http: require "Authorization: Bearer <token>".',
    },
    json: { ...jsonOption, description: 'Log JSON lines on stderr instead of text.' },
  },
  description: `
Exposes each agent of the module as one MCP tool (named after the agent): a call starts a run and
returns the agent's answer, with progress notifications while it runs when the client sends a
progressToken. An approval or a question the run raises is asked through elicitation when the
client supports it; otherwise the run is left waiting in the store and the tool result names the
run and how to answer it (vel approve, vel deny, vel answer, HTTP or NATS). A client cancelling
the call cancels the run.

Over stdio (the default) an MCP client starts this command and speaks JSON-RPC on its stdin and
stdout; logs go to stderr, and so does anything the agents module prints with console.log. It
stops when the client closes stdin, leaving unfinished runs resumable. With --http it serves
Streamable HTTP at http://<host>:<port>/mcp until Ctrl-C (SIGINT) or SIGTERM.

Examples:
  vel mcp --agents ./agents.ts --store sqlite:./vel.db
  vel mcp --agents ./agents.ts --http 3001 --auth "$VEL_TOKEN"

Client configuration (stdio), e.g. for Claude Desktop or the MCP Inspector:
  { "command": "npx", "args": ["vel", "mcp", "--agents", "/abs/agents.ts", "--store", "sqlite:/abs/vel.db"] }`,
  run: async (invocation) => {
    const httpFlag = stringFlag(invocation.values, 'http')
    const port = httpFlag === undefined ? undefined : portFlag(httpFlag, 'http', 'mcp')
    const host = stringFlag(invocation.values, 'host')
    const token = stringFlag(invocation.values, 'auth')
    if (port === undefined && (host !== undefined || token !== undefined))
      throw new UsageError('--host and --auth need --http <port>', 'mcp')
    const log = createServeLog((line) => invocation.io.stderr.write(line), {
      json: invocation.values.json === true,
    })
    // Over stdio, stdout carries the protocol: whatever the agents print must go elsewhere.
    if (port === undefined) console.log = console.error
    const workspace = await openWorkspace(invocation, {
      agents: true,
      create: true,
      telemetry: { observe: runLog(log) },
    })
    const { runtime, agents } = workspace
    const resumed = await runtime.recover()
    const server = await import('@vel/mcp/server')
    const common = {
      runtime,
      agents,
      name: 'vel',
      version,
      onError: (error: unknown) =>
        log.error('mcp.error', { error: (error as Error)?.message ?? String(error) }),
    }
    const tools = agents.map((agent) => agent.id).join(',')
    log.info('store', { store: describeStore(storeSpecOf(invocation)), resumed: resumed.length })
    if (port === undefined) {
      const serving = await server.serveAgentsOverStdio(common)
      log.info('serving', { transport: 'stdio', tools })
      await new Promise<void>((resolve) => {
        void serving.closed.then(resolve)
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      log.info('stopping')
      await serving.close()
    } else {
      const serving = await server.serveAgentsOverHttp({
        ...common,
        port,
        ...(host === undefined ? {} : { hostname: host }),
        ...(token === undefined ? {} : { token }),
      })
      log.info('serving', { transport: 'http', url: serving.url, tools, auth: token !== undefined })
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      log.info('stopping')
      await serving.close()
    }
    await workspace.close()
    return 0
  },
}
