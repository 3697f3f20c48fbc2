/**
 * An agent using the tools of an MCP server: the example starts `notes-server.ts` over stdio,
 * offers its tools to an agent (policies from their annotations, approval for the destructive
 * one), and lets a scripted model save, search and delete a note. No keys, no network.
 */
import { fileURLToPath } from 'node:url'
import { Agent, createRuntime } from '@vel/actors'
import type { Message } from '@vel/core'
import { createMcpClient } from '@vel/mcp'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'

const server = fileURLToPath(new URL('./notes-server.ts', import.meta.url))
const mcp = await createMcpClient({
  servers: {
    notes: {
      command: process.execPath,
      args: ['--import', 'tsx', server],
      prefix: true, // notes_search_notes, notes_save_note, notes_delete_note
      approveDestructive: true,
    },
  },
})
const tools = await mcp.tools()
for (const tool of tools)
  console.log(
    `tool ${tool.name.padEnd(20)} sideEffects=${tool.sideEffects.padEnd(10)} approval=${tool.needsApproval}`,
  )

/** A scripted model: save a note, search it, delete it, then report. */
const toolResults = (messages: ReadonlyArray<Message>) =>
  messages.flatMap((message) => (message.role === 'tool' ? message.content : []))
const model = createScriptedModel({
  respond: (request) => {
    const results = toolResults(request.messages)
    const plan = [
      { name: 'notes_save_note', input: { id: 'trip', text: 'pack the tent' } },
      { name: 'notes_search_notes', input: { query: 'tent' } },
      { name: 'notes_delete_note', input: { id: 'trip' } },
    ]
    const next = plan[results.length]
    if (next !== undefined) return { toolCalls: [{ id: `call_${results.length + 1}`, ...next }] }
    return {
      text: `Done: ${results.map((result) => ('output' in result ? JSON.stringify(result.output) : result.error)).join(' | ')}`,
    }
  },
})

// The client is a ToolSource: the agent asks it for the current tools before each model call.
const agent = new Agent({ id: 'note-taker', model, tools: [mcp] })
const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
const handle = await runtime.spawn('note-taker', 'Remember to pack the tent, check it, then clean up.')
for await (const part of handle.parts()) {
  if (part.type === 'tool-input-available')
    console.log(`call   ${part.toolName} ${JSON.stringify(part.input)}`)
  if (part.type === 'tool-output-available') console.log(`result ${JSON.stringify(part.output)}`)
  if (part.type === 'tool-output-error') console.log(`error  ${part.errorText}`)
  if (part.type === 'tool-approval-request') {
    console.log(`approval asked for ${part.toolCallId}: approving`)
    await handle.approve(part.toolCallId, { by: 'example' })
  }
}
console.log(await handle.result)
await runtime.shutdown()
await mcp.close()
