import { Agent, sequence } from '@vel/actors'
import { assertWellFormedStream, defineTool, type StreamPart } from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNatsClient, type NatsClient } from '../src/index.ts'
import { connectNats, probeNats, startWorker, type TestWorker, uniquePrefix } from './support.ts'

const available = await probeNats()

/** A grandchild that asks before it deploys, under a pipeline under a pipeline. */
const agents = () => {
  const deployer = new Agent({
    id: 'deployer',
    model: createScriptedModel({
      record: false,
      respond: (request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: ['deployed ', 'to prod'] }
          : { toolCalls: [{ id: 'deploy-1', name: 'deploy', input: { env: 'prod' } }] },
    }),
    tools: [
      defineTool({
        name: 'deploy',
        description: 'Deploys.',
        input: { type: 'object' },
        handler: () => 'ok',
        needsApproval: true,
      }),
    ],
    policies: { retry: false },
  })
  const prep = new Agent({
    id: 'prep',
    model: createScriptedModel({ record: false, respond: () => ({ text: 'prepared' }) }),
    policies: { retry: false },
  })
  return [sequence([prep, sequence([deployer], { id: 'deploy-stage' })], { id: 'release' })]
}

const isPreview = (part: StreamPart) =>
  part.type.startsWith('data-') && (part as { transient?: boolean }).transient === true
const inner = (part: StreamPart) =>
  part.type === 'data-vel-child' ? (part.data as { runId: string; part: StreamPart }) : undefined

describe.skipIf(!available)('a pipeline over NATS (integration)', () => {
  const prefix = uniquePrefix('supervision')
  const store = createMemoryStore()
  let served: TestWorker
  let client: NatsClient
  let connection: Awaited<ReturnType<typeof connectNats>>

  beforeAll(async () => {
    served = await startWorker({ store, prefix, agents: agents() })
    connection = await connectNats()
    client = createNatsClient(connection, { prefix, timeoutMs: 5000 })
  })
  afterAll(async () => {
    client?.close()
    await connection?.close()
    await served?.close()
  })

  it("vel.run.<id>.events of the parent carries a grandchild's approval request, answered through the parent", async () => {
    const { runId } = await client.trigger('release', 'ship it')
    const parts: StreamPart[] = []
    for await (const part of client.events(runId)) {
      parts.push(part)
      if (inner(part)?.part.type === 'tool-approval-request')
        await client.approve(runId, 'deploy-1', { by: 'ops' })
    }
    assertWellFormedStream(parts)
    const deployer = (await store.listRuns({ agentId: 'deployer' })).items[0]?.runId
    expect(
      parts.filter((part) => inner(part)?.runId === deployer).map((part) => inner(part)?.part),
    ).toContainEqual({
      type: 'tool-output-available',
      toolCallId: 'deploy-1',
      output: 'ok',
    })
    // What a NATS observer saw (previews aside) is the parent's journaled stream.
    const replay: StreamPart[] = []
    for await (const { part } of served.runtime.stream(runId, { follow: false })) replay.push(part)
    expect(parts.filter((part) => !isPreview(part))).toEqual(replay)
    expect((await store.getRun(runId))?.answer).toBe('deployed to prod')
  })
})
