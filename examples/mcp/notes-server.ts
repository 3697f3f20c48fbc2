/**
 * A small MCP server over stdio, written with the official SDK: notes kept in memory, with one
 * read-only, one idempotent and one destructive tool, each annotated as such.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import * as z from 'zod'

const notes = new Map<string, string>([['groceries', 'milk, eggs']])
const server = new McpServer({ name: 'notes', version: '1.0.0' })

server.registerTool(
  'search_notes',
  {
    description: 'Finds notes whose text contains the query.',
    inputSchema: { query: z.string() },
    outputSchema: { notes: z.array(z.object({ id: z.string(), text: z.string() })) },
    annotations: { readOnlyHint: true },
  },
  async ({ query }) => {
    const found = [...notes].filter(([, text]) => text.includes(query)).map(([id, text]) => ({ id, text }))
    return { content: [{ type: 'text', text: JSON.stringify(found) }], structuredContent: { notes: found } }
  },
)
server.registerTool(
  'save_note',
  {
    description: 'Saves a note under an id (saving the same note twice changes nothing).',
    inputSchema: { id: z.string(), text: z.string() },
    annotations: { readOnlyHint: false, idempotentHint: true, destructiveHint: false },
  },
  async ({ id, text }) => {
    notes.set(id, text)
    return { content: [{ type: 'text', text: `saved ${id}` }] }
  },
)
server.registerTool(
  'delete_note',
  { description: 'Deletes a note for good.', inputSchema: { id: z.string() } },
  async ({ id }) =>
    notes.delete(id)
      ? { content: [{ type: 'text', text: `deleted ${id}` }] }
      : { isError: true, content: [{ type: 'text', text: `no note '${id}'` }] },
)

process.stdin.on('end', () => process.exit(0))
await server.connect(new StdioServerTransport())
