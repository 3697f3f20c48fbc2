import { Agent, createRuntime } from '@vel/actors'
import { defineTool } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { createHttpApp } from '../src/index.ts'
import { assemble, parseSse, partsOf, post, scriptedModel } from './support.ts'

describe('a tool call refused by the agent guard, over HTTP', () => {
  it('streams as a denied tool part the AI SDK assembles (output-denied), and the tool never runs', async () => {
    let deployed = 0
    const agent = new Agent({
      id: 'guarded',
      model: scriptedModel((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'Not deployed: outside business hours.' }
          : { toolCalls: [{ id: 'd1', name: 'deploy', input: { env: 'prod' } }] },
      ),
      tools: [
        defineTool({
          name: 'deploy',
          description: 'Deploys.',
          input: { type: 'object' },
          handler: () => {
            deployed += 1
            return 'deployed'
          },
        }),
      ],
      policies: { retry: false, guard: () => ({ allow: false, reason: 'outside business hours' }) },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const app = createHttpApp({ runtime })
    const response = await app.request('/runs/stream', post({ agentId: 'guarded', input: 'deploy' }))
    const parts = partsOf(parseSse(await response.text()))
    const message = await assemble(parts)
    expect(message.parts.find((part) => part.type === 'tool-deploy')).toMatchObject({
      toolCallId: 'd1',
      state: 'output-denied',
      input: { env: 'prod' },
    })
    expect(message.parts.at(-1)).toMatchObject({
      type: 'text',
      text: 'Not deployed: outside business hours.',
    })
    expect(deployed).toBe(0)
  })
})
