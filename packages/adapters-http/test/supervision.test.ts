import { Agent, createRuntime, sequence } from '@vel/actors'
import { assertWellFormedStream, defineTool, type StreamPart } from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'
import { assemble, parseSse, partsOf, post, readUntil } from './support.ts'

/** A grandchild that asks before it deploys, under a pipeline under a pipeline. */
const deployer = new Agent({
  id: 'deployer',
  model: createScriptedModel({
    record: false,
    respond: (request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: ['deployed ', 'to prod'] }
        : { text: 'checking first', toolCalls: [{ id: 'deploy-1', name: 'deploy', input: { env: 'prod' } }] },
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
const release = sequence([prep, sequence([deployer], { id: 'deploy-stage' })], { id: 'release' })
const runtime = createRuntime({ store: createMemoryStore(), agents: [release], onError: () => undefined })

let server: RunningServer
beforeAll(async () => {
  server = await serve({ runtime, port: 0 })
})
afterAll(async () => {
  await server.close()
})

const wrapped = (part: StreamPart) =>
  part.type === 'data-vel-child' ? (part.data as { runId: string; part: StreamPart }) : undefined

describe("GET /runs/:runId/stream of a pipeline: its descendants' parts", () => {
  it("carries a grandchild's approval request, is approved through the parent, and resumes exactly after a reconnect", async () => {
    const started = await fetch(`${server.url}/runs`, post({ agentId: 'release', input: 'ship it' }))
    const { runId } = (await started.json()) as { runId: string }

    // First connection: read until the grandchild's approval request reaches the parent's stream.
    const first = await fetch(`${server.url}/runs/${runId}/stream`)
    const seen = await readUntil(first, (event) => event.data.includes('"tool-approval-request"'))
    const request = wrapped(JSON.parse(seen.at(-1)?.data ?? '{}') as StreamPart)
    expect(request?.part).toEqual({
      type: 'tool-approval-request',
      approvalId: 'deploy-1',
      toolCallId: 'deploy-1',
    })
    const owner = (await runtime.list({ agentId: 'deployer' })).items[0]?.runId
    expect(request?.runId).toBe(owner)

    // Approved through the parent's run: the runtime routes it to the grandchild that waits.
    const approved = await fetch(`${server.url}/runs/${runId}/approvals/deploy-1`, post({ approved: true }))
    expect(approved.status).toBe(200)

    const second = await fetch(`${server.url}/runs/${runId}/stream`, {
      headers: { 'last-event-id': seen.at(-1)?.id ?? '' },
    })
    const resumed = await readUntil(second, () => false)
    const live: StreamPart[] = [
      ...seen.map((event) => JSON.parse(event.data) as StreamPart),
      ...partsOf(resumed),
    ]
    assertWellFormedStream(live)
    const ids = [...seen, ...resumed.slice(0, -1)].map((event) => event.id)
    expect(new Set(ids).size).toBe(ids.length)
    // Live previews of the descendants' model calls (transient) are not replayed: the rest is.
    const union = live.filter(
      (part) => !(part.type.startsWith('data-') && 'transient' in part && part.transient),
    )

    const wholeEvents = parseSse(await (await fetch(`${server.url}/runs/${runId}/stream`)).text())
    const whole = partsOf(wholeEvents)
    expect(union).toEqual(whole)
    expect(
      whole.flatMap((part) => (wrapped(part)?.runId === owner ? [wrapped(part)?.part] : [])),
    ).toContainEqual({
      type: 'tool-output-available',
      toolCallId: 'deploy-1',
      output: 'ok',
    })

    // The AI SDK client takes the descendants' parts as data parts of the parent's message, and a
    // reconnect after any event ends with the same message.
    const message = await assemble(whole)
    expect(message.parts.filter((part) => part.type === 'data-vel-child').length).toBe(
      whole.filter((part) => part.type === 'data-vel-child').length,
    )
    const expected = (await assemble(whole)).parts
    // The reader that dropped and reconnected, previews included, ends with the same message.
    expect((await assemble(live)).parts).toEqual(expected)
    for (const [index, event] of wholeEvents.slice(0, -1).entries()) {
      if (event.id === undefined) continue
      const rest = parseSse(
        await (
          await fetch(`${server.url}/runs/${runId}/stream`, { headers: { 'last-event-id': event.id } })
        ).text(),
      )
      const parts = [...whole.slice(0, index + 1), ...partsOf(rest)]
      expect(parts).toEqual(whole)
      if (index % 10 === 0) expect((await assemble(parts)).parts).toEqual(expected)
    }
  })

  it("POST /agents/:id/chat of a pipeline shows a grandchild's approval request and, once approved through the parent, the rest", async () => {
    const response = await fetch(
      `${server.url}/agents/release/chat`,
      post({
        id: 'chat-release',
        messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'ship' }] }],
      }),
    )
    expect(response.status).toBe(200)
    const runId = response.headers.get('x-vel-run-id') ?? ''
    let approval: Promise<Response> | undefined
    // The response stays open while the grandchild waits: it is approved meanwhile, through the parent.
    const events = await readUntil(response, (event) => {
      if (event.data.includes('"tool-approval-request"'))
        approval = fetch(`${server.url}/runs/${runId}/approvals/deploy-1`, post({ approved: true }))
      return false
    })
    expect((await approval)?.status).toBe(200)
    const parts = partsOf(events)
    assertWellFormedStream(parts)
    const message = await assemble(parts)
    const inner = message.parts.flatMap((part) =>
      part.type === 'data-vel-child' ? [(part.data as { part: StreamPart }).part.type] : [],
    )
    expect(inner).toContain('tool-approval-request')
    expect(inner).toContain('tool-output-available')
    // The pipeline's answer is the message's own text.
    expect(
      message.parts.filter((part) => part.type === 'text').map((part) => (part as { text: string }).text),
    ).toEqual(['deployed to prod'])
  })
})
