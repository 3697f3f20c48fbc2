import { assertWellFormedStream, type StreamPart } from '@vel/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'
import { assemble, parseSse, partsOf, post, readUntil, setup, stepperGates } from './support.ts'

let server: RunningServer
const { runtime } = setup()

beforeAll(async () => {
  server = await serve({ runtime, port: 0 })
})
afterAll(async () => {
  await server.close()
})

/** Opens the `wait` tool's gate number `index` (0-based) once the tool has reached it. */
async function openGate(index: number): Promise<void> {
  for (let attempt = 0; attempt < 500 && stepperGates.length <= index; attempt++)
    await new Promise((resolve) => setTimeout(resolve, 5))
  stepperGates[index]?.open()
}

describe('GET /runs/:runId/stream with Last-Event-ID', () => {
  it('resumes after a dropped connection with nothing lost and nothing repeated', async () => {
    const base = stepperGates.length
    const started = await fetch(`${server.url}/runs`, post({ agentId: 'stepper', input: 'go' }))
    const { runId } = (await started.json()) as { runId: string }

    // First connection: read until the first tool call is under way, then drop it.
    const first = await fetch(`${server.url}/runs/${runId}/stream`)
    const seen = await readUntil(first, (event) => event.data.includes('"tool-input-available"'))
    expect(seen.at(-1)?.data).toContain('wait-1')
    const lastEventId = seen.at(-1)?.id ?? ''

    // The run moves on while nobody listens.
    await openGate(base)
    await openGate(base + 1)

    const second = await fetch(`${server.url}/runs/${runId}/stream`, {
      headers: { 'last-event-id': lastEventId },
    })
    const rest = readUntil(second, () => false)
    await openGate(base + 2)
    const resumed = await rest

    const union: StreamPart[] = [
      ...seen.map((event) => JSON.parse(event.data) as StreamPart),
      ...partsOf(resumed),
    ]
    assertWellFormedStream(union)
    const ids = [...seen, ...resumed.slice(0, -1)].map((event) => event.id)
    expect(new Set(ids).size).toBe(ids.length)

    const whole = partsOf(parseSse(await (await fetch(`${server.url}/runs/${runId}/stream`)).text()))
    expect(union).toEqual(whole)
    expect(whole.filter((part) => part.type === 'tool-output-available')).toHaveLength(3)
    expect(whole.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' })
    const answer = whole.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : [])).at(-1)
    expect(answer).toBe('Finished after 3 waits.')
  })
})

describe('GET /agents/:agentId/chat/:chatId/stream (useChat resume)', () => {
  it('replays the working run of the chat from its start, and answers 204 once it is done', async () => {
    const base = stepperGates.length
    const chat = {
      id: 'resume-1',
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'go' }] }],
    }
    const first = await fetch(`${server.url}/agents/stepper/chat`, post(chat))
    const seen = await readUntil(first, (event) => event.data.includes('"tool-input-available"'))
    const resumed = await fetch(`${server.url}/agents/stepper/chat/resume-1/stream`)
    expect(resumed.status).toBe(200)
    const rest = readUntil(resumed, () => false)
    for (const index of [0, 1, 2]) await openGate(base + index)
    const replay = partsOf(await rest)
    assertWellFormedStream(replay)
    expect(seen.length).toBeGreaterThan(2)
    // From its start: what the journal holds comes whole, the step in flight live; the same message.
    const runId = first.headers.get('x-vel-run-id') ?? ''
    const whole = partsOf(parseSse(await (await fetch(`${server.url}/runs/${runId}/stream`)).text()))
    expect((await assemble(replay)).parts).toEqual((await assemble(whole)).parts)
    expect(replay.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' })
    expect((await fetch(`${server.url}/agents/stepper/chat/resume-1/stream`)).status).toBe(204)
  })

  it('resumes a chat whose run reached its approval request while the client was away', async () => {
    const chat = {
      id: 'resume-approval',
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'transfer 10' }] }],
    }
    // The client sends, then goes away before reading anything; the run pauses at its approval.
    const first = await fetch(`${server.url}/agents/banker/chat`, post(chat))
    await first.body?.cancel()
    const runId = first.headers.get('x-vel-run-id') ?? ''
    for (let tries = 0; (await runtime.record(runId))?.status !== 'waiting'; tries++) {
      if (tries > 400) throw new Error('the run never paused')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const resumed = await fetch(`${server.url}/agents/banker/chat/resume-approval/stream`)
    expect(resumed.status).toBe(200)
    const parts = partsOf(parseSse(await resumed.text()))
    assertWellFormedStream(parts)
    expect(parts).toContainEqual({
      type: 'tool-approval-request',
      approvalId: 'call-1',
      toolCallId: 'call-1',
    })
    expect(parts.at(-1)).toEqual({ type: 'finish' })
  })
})
