/**
 * An MCP client (the official SDK) calling a Vel agent: it starts `agent-server.ts` over stdio,
 * lists its tools, calls `trip-planner` with a progress callback, and answers the approval the run
 * raises through elicitation. No keys, no network.
 */
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import {
  type CallToolResult,
  CallToolResultSchema,
  ElicitRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'

const server = fileURLToPath(new URL('./agent-server.ts', import.meta.url))
const transport = new StdioClientTransport({
  command: process.execPath,
  args: ['--import', 'tsx', server],
  // The SDK passes a small safe environment; NODE_OPTIONS carries the workspace's resolution condition.
  env: {
    ...getDefaultEnvironment(),
    ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
  },
})
// Declaring `elicitation` lets the server ask us for approvals and answers.
const client = new Client({ name: 'example-client', version: '1.0.0' }, { capabilities: { elicitation: {} } })
client.setRequestHandler(ElicitRequestSchema, (request) => {
  console.log(`asked: ${request.params.message}`)
  console.log('answer: approved')
  return { action: 'accept', content: { approved: true, reason: 'within budget' } }
})
await client.connect(transport)

const { tools } = await client.listTools()
for (const tool of tools) console.log(`tool ${tool.name}: ${tool.description}`)

const result = (await client.callTool(
  { name: 'trip-planner', arguments: { message: 'Plan two nights in Porto' } },
  CallToolResultSchema,
  { onprogress: (progress) => console.log(`progress ${progress.progress}: ${progress.message}`) },
)) as CallToolResult
for (const block of result.content) if (block.type === 'text') console.log(`answer: ${block.text}`)
console.log(`run: ${JSON.stringify(result._meta?.['vel/run'])}`)
await client.close()
