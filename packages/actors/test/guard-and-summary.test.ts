import { defineTool, type ModelRequest, type RunEvent, type StreamPart, stateFromEvents } from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime, createSummarizer, type Summarizer, type ToolGuard } from '../src/index.ts'
import { collect, scripted } from './support.ts'

const lastToolText = (request: ModelRequest) => JSON.stringify(request.messages.at(-1)?.content)

/** `deploy` (counted) and `status`, both asked for in one response; `confirm` needs approval. */
function deployTools(runs: { deploy: number; status: number; confirm: number }) {
  return [
    defineTool({
      name: 'deploy',
      description: 'Deploys.',
      input: { type: 'object', properties: { env: { type: 'string' } }, required: ['env'] },
      handler: () => {
        runs.deploy += 1
        return 'deployed'
      },
    }),
    defineTool({
      name: 'status',
      description: 'Status.',
      input: { type: 'object' },
      sideEffects: 'none',
      handler: () => {
        runs.status += 1
        return 'green'
      },
    }),
    defineTool({
      name: 'confirm',
      description: 'Needs a human.',
      input: { type: 'object' },
      needsApproval: true,
      handler: () => {
        runs.confirm += 1
        return 'confirmed'
      },
    }),
  ]
}

describe('tool guard (policies.guard)', () => {
  it('a denied call never runs; the stream shows it denied and the model reads the reason', async () => {
    const runs = { deploy: 0, status: 0, confirm: 0 }
    const seen: Array<{ toolName: string; input: unknown }> = []
    const guard: ToolGuard = (call) => {
      seen.push({ toolName: call.toolName, input: call.input })
      return call.toolName === 'deploy' ? { allow: false, reason: 'outside business hours' } : { allow: true }
    }
    const model = createScriptedModel({
      respond: (request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: lastToolText(request) }
          : {
              toolCalls: [
                { id: 'd1', name: 'deploy', input: { env: 'prod' } },
                { id: 's1', name: 'status', input: {} },
              ],
            },
    })
    const agent = new Agent({
      id: 'guarded',
      model,
      tools: deployTools(runs),
      policies: { guard, retry: false },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await runtime.spawn('guarded', 'deploy')
    const parts: StreamPart[] = await collect(handle.parts())
    const answer = String(await handle.result)
    expect(runs).toEqual({ deploy: 0, status: 1, confirm: 0 })
    expect(seen).toEqual([
      { toolName: 'deploy', input: { env: 'prod' } },
      { toolName: 'status', input: {} },
    ])
    expect(parts).toContainEqual({ type: 'tool-output-denied', toolCallId: 'd1' })
    expect(parts.filter((part) => part.type === 'tool-output-available')).toHaveLength(1)
    expect(answer).toContain('Denied by policy: outside business hours. Do not retry this call unchanged.')
    expect(answer).toContain('"output":"green"')
    const journal = await runtime.journal(handle.runId)
    const responded = journal.find((entry) => entry.type === 'model.responded')?.data as unknown as Extract<
      RunEvent,
      { type: 'model.responded' }
    >
    expect(responded.plan[0]).toEqual({
      toolCallId: 'd1',
      action: 'deny',
      reason: 'outside business hours',
    })
  })

  it('decides before any human is asked, once: a resume in another process does not ask the guard again', async () => {
    const runs = { deploy: 0, status: 0, confirm: 0 }
    let asked = 0
    const guard: ToolGuard = (call) => {
      asked += 1
      return call.toolName === 'deploy' ? { allow: false, reason: 'frozen' } : { allow: true }
    }
    const model = scripted((request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: lastToolText(request) }
        : {
            toolCalls: [
              { id: 'd1', name: 'deploy', input: { env: 'prod' } },
              { id: 'c1', name: 'confirm', input: {} },
            ],
          },
    )
    const define = () =>
      new Agent({ id: 'guard-once', model, tools: deployTools(runs), policies: { guard, retry: false } })
    const store = createMemoryStore()
    const first = createRuntime({ store, agents: [define()] })
    const handle = await first.spawn('guard-once', 'go')
    const paused: StreamPart[] = []
    for await (const part of handle.parts({ untilPause: true })) paused.push(part)
    // Only the approved-if-asked call waits for a human; the denied one was never put to one.
    expect(paused.filter((part) => part.type === 'tool-approval-request')).toEqual([
      { type: 'tool-approval-request', approvalId: 'c1', toolCallId: 'c1' },
    ])
    expect(asked).toBe(2)
    await first.shutdown()
    const second = createRuntime({ store, agents: [define()] })
    await second.approve(handle.runId, 'c1')
    const answer = String(await second.handle(handle.runId).result)
    expect(asked).toBe(2)
    expect(runs).toEqual({ deploy: 0, status: 0, confirm: 1 })
    expect(answer).toContain('Denied by policy: frozen.')
  })

  it('a guard that throws or answers nonsense refuses the call', async () => {
    const runs = { deploy: 0, status: 0, confirm: 0 }
    const guard = ((call: { toolName: string }) => {
      if (call.toolName === 'deploy') throw new Error('calendar service down')
      return 'yes'
    }) as unknown as ToolGuard
    const model = scripted((request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: lastToolText(request) }
        : {
            toolCalls: [
              { id: 'd1', name: 'deploy', input: { env: 'prod' } },
              { id: 's1', name: 'status', input: {} },
            ],
          },
    )
    const agent = new Agent({
      id: 'guard-fails',
      model,
      tools: deployTools(runs),
      policies: { guard, retry: false },
    })
    createRuntime({ store: createMemoryStore(), agents: [agent] })
    const answer = String(await agent.run('go'))
    expect(runs).toEqual({ deploy: 0, status: 0, confirm: 0 })
    expect(answer).toContain('Denied by policy: the guard failed: calendar service down.')
    expect(answer).toContain('Denied by policy: the guard gave no decision')
  })
})

/** A session agent that answers "turn N"; the summarizing model answers "summary N". */
function summarizingAgent(id: string, summarize: Summarizer) {
  const requests: ModelRequest[] = []
  const model = scripted((request) => {
    requests.push(request)
    return { text: `turn ${requests.length}` }
  })
  return { agent: new Agent({ id, model, summarize, policies: { retry: false } }), requests }
}

describe('asynchronous context step (summarize)', () => {
  it('createSummarizer: the summary is journaled, the model gets it instead of the old messages, and a replay gives the same state without summarizing', async () => {
    const summaries = createScriptedModel({
      respond: (_request, { call }) => ({
        text: `summary ${call + 1}`,
        usage: { inputTokens: 40, outputTokens: 8 },
      }),
    })
    const summarize = createSummarizer({ model: summaries, maxMessages: 4, keepLast: 2 })
    const { agent, requests } = summarizingAgent('summarized', summarize)
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    for (const question of ['one', 'two', 'three']) await agent.run(question, { sessionId: 'long' })
    // Third run: 4 prior messages + 1 new are 5 > 4, so the first 3 are summarized before its call.
    expect(summaries.calls).toBe(1)
    expect(summaries.requests[0]?.messages[1]).toEqual({
      role: 'user',
      content: 'user: one\nassistant: turn 1\nuser: two',
    })
    const last = requests.at(-1) as ModelRequest
    expect(last.messages).toEqual([
      { role: 'system', content: 'Summary of the earlier conversation:\nsummary 1' },
      { role: 'assistant', content: [{ type: 'text', text: 'turn 2' }] },
      { role: 'user', content: 'three' },
    ])
    const { items } = await runtime.list({ sessionId: 'long' })
    const runId = items.find((run) => run.answer === 'turn 3')?.runId as string
    const journal = await runtime.journal(runId)
    expect(journal.map((entry) => entry.type)).toEqual([
      'run.started',
      'context.summarized',
      'model.responded',
    ])
    expect(journal[1]?.data).toMatchObject({ upTo: 3, summary: 'summary 1' })
    const info = await runtime.get(runId)
    const replayed = stateFromEvents(journal.map((entry) => entry.data as unknown as RunEvent))
    expect(replayed).toEqual(info.state)
    expect(info.state.summary).toEqual({ upTo: 3, text: 'summary 1' })
    expect(info.state.usage.inputTokens).toBeGreaterThanOrEqual(40)
    expect(summaries.calls).toBe(1)
  })

  it('a run resumed after its summary was journaled goes on from it: the summary is not written twice', async () => {
    const store = createMemoryStore()
    let calls = 0
    const summarize: Summarizer = (state) => {
      calls += 1
      return state.summary ? undefined : { upTo: 2, summary: 'they said hello' }
    }
    let answer: (() => void) | undefined
    const waiting = new Promise<void>((resolve) => {
      answer = resolve
    })
    let entered: () => void = () => undefined
    const inCall = new Promise<void>((resolve) => {
      entered = resolve
    })
    const seen: ModelRequest[] = []
    const model = scripted(async (request) => {
      seen.push(request)
      if (seen.length === 1) {
        entered()
        await waiting
      }
      return { text: 'done' }
    })
    const define = () => new Agent({ id: 'resume-summary', model, summarize, policies: { retry: false } })
    const first = createRuntime({ store, agents: [define()] })
    const handle = await first.spawn('resume-summary', [
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: [{ type: 'text', text: 'hi' }] },
      { role: 'user', content: 'now?' },
    ])
    await inCall
    await first.shutdown()
    answer?.()
    const second = createRuntime({ store, agents: [define()] })
    const resumed = second.handle(handle.runId)
    expect(await second.recover()).toEqual([handle.runId])
    expect(await resumed.result).toBe('done')
    const types = (await second.journal(handle.runId)).map((entry) => entry.type)
    expect(types.filter((type) => type === 'context.summarized')).toHaveLength(1)
    expect(seen.at(-1)?.messages).toEqual([
      { role: 'system', content: 'Summary of the earlier conversation:\nthey said hello' },
      { role: 'user', content: 'now?' },
    ])
    expect(calls).toBe(2)
  })

  it('a summarizer that fails or answers out of range leaves the context as it was and is reported', async () => {
    const errors: unknown[] = []
    for (const summarize of [
      (() => {
        throw new Error('summary model down')
      }) as Summarizer,
      (() => ({ upTo: 99, summary: 'x' })) as Summarizer,
    ]) {
      const { agent, requests } = summarizingAgent('summary-fails', summarize)
      createRuntime({ store: createMemoryStore(), agents: [agent], onError: (error) => errors.push(error) })
      expect(await agent.run('hi')).toBe('turn 1')
      expect(requests[0]?.messages).toEqual([{ role: 'user', content: 'hi' }])
    }
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'summary model down',
      expect.stringContaining('summarize returned upTo 99'),
    ])
  })
})
