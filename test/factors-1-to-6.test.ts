/**
 * Factors 1 to 6 of 12-Factor Agents, each as the Python Vel seed's example is ported to Vel (the
 * code between `#region` and `#endregion` is what docs/twelve-factors.md shows, checked by
 * docs-examples.test.ts), asserting what the seed promises. `model` is a scripted model.
 */
import { Agent, createRuntime, createSummarizer } from '@vel/actors'
import {
  defineTool,
  type JsonValue,
  type RunEvent,
  registerTool,
  stateFromEvents,
  type ToolResultPart,
} from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it, vi } from 'vitest'
import { toolResults, toolThenAnswer, until } from './factor-support.ts'

vi.setConfig({ testTimeout: 60_000 })

const eventsOf = (journal: ReadonlyArray<{ readonly data: JsonValue }>) =>
  journal.map((entry) => entry.data as unknown as RunEvent)

describe('factor 1: natural language to tool calls', () => {
  it('a tool registered by name is given to the model and called; { message } is a user message', async () => {
    const model = toolThenAnswer(
      [[{ id: 'w1', name: 'get_weather', input: { city: 'Tokyo' } }]],
      (request) => {
        const [result] = toolResults(request) as Array<ToolResultPart & { output: { temp_f: number } }>
        return `It is ${result?.output.temp_f}°F in Tokyo.`
      },
    )
    // #region factor-1
    const weatherTool = defineTool({
      name: 'get_weather',
      description: 'Current weather for a city.',
      input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      output: {
        type: 'object',
        properties: { temp_f: { type: 'number' }, condition: { type: 'string' } },
        required: ['temp_f', 'condition'],
      },
      handler: ({ city }: { city: string }) => ({ temp_f: 72, condition: 'sunny', city }),
      sideEffects: 'none',
    })
    registerTool(weatherTool)

    const agent = new Agent({ id: 'weather-agent', model, tools: ['get_weather'] })
    const answer = await agent.run({ message: 'What is the weather in Tokyo?' })
    // #endregion
    expect(answer).toBe('It is 72°F in Tokyo.')
    const [first, second] = model.requests
    expect(first?.tools?.map((tool) => tool.name)).toEqual(['get_weather'])
    expect(first?.messages).toEqual([{ role: 'user', content: 'What is the weather in Tokyo?' }])
    expect(toolResults(second)).toEqual([
      {
        type: 'tool-result',
        toolCallId: 'w1',
        toolName: 'get_weather',
        output: { temp_f: 72, condition: 'sunny', city: 'Tokyo' },
      },
    ])
  })
})

describe('factor 2: own your prompts', () => {
  it('the model receives exactly the instructions and the context the agent builds', async () => {
    const model = createScriptedModel({ responses: [{ text: 'Staging first, then prod: confirm?' }] })
    // #region factor-2
    const runbook = 'Deploys go to staging before prod.'
    const agent = new Agent({
      id: 'my-agent',
      model,
      instructions: 'You are a helpful deployment assistant. Always confirm before deploying.',
      context: (state) => [
        ...state.messages.slice(0, 1), // the instructions
        { role: 'system', content: `Relevant context: ${runbook}` },
        ...state.messages.slice(1),
      ],
    })
    await agent.run('Deploy the backend')
    // #endregion
    expect(model.lastRequest()?.messages).toEqual([
      { role: 'system', content: 'You are a helpful deployment assistant. Always confirm before deploying.' },
      { role: 'system', content: 'Relevant context: Deploys go to staging before prod.' },
      { role: 'user', content: 'Deploy the backend' },
    ])
  })
})

describe('factor 3: own your context window', () => {
  it('old messages are summarized by a model; the summary is journaled and replays identically without summarizing again', async () => {
    const model = createScriptedModel({ respond: (_request, { call }) => ({ text: `answer ${call + 1}` }) })
    const summaryModel = createScriptedModel({
      respond: (request) => ({
        text: `${String(request.messages[1]?.content).split('\n').length} messages about deploys`,
        usage: { inputTokens: 50, outputTokens: 6 },
      }),
    })
    const store = createMemoryStore()
    // #region factor-3
    const agent = new Agent({
      id: 'my-agent',
      model,
      // Once more than 10 messages are not summarized, all but the last 2 become one summary.
      summarize: createSummarizer({ model: summaryModel, maxMessages: 10, keepLast: 2 }),
    })
    const runtime = createRuntime({ store, agents: [agent] })
    for (let turn = 1; turn <= 6; turn++) await agent.run(`deploy step ${turn}`, { sessionId: 'ops' })
    // #endregion
    expect(summaryModel.calls).toBe(1)
    expect(model.lastRequest()?.messages).toEqual([
      { role: 'system', content: 'Summary of the earlier conversation:\n9 messages about deploys' },
      { role: 'assistant', content: [{ type: 'text', text: 'answer 5' }] },
      { role: 'user', content: 'deploy step 6' },
    ])
    const { items } = await runtime.list({ sessionId: 'ops' })
    const sixth = items.find((run) => run.answer === 'answer 6')?.runId as string
    const journal = await runtime.journal(sixth)
    expect(journal.map((entry) => entry.type)).toEqual([
      'run.started',
      'context.summarized',
      'model.responded',
    ])
    // Replay: the same state from the journal alone, in this process or a fresh one; no summarizing.
    const state = (await runtime.get(sixth)).state
    expect(stateFromEvents(eventsOf(journal))).toEqual(state)
    const elsewhere = createRuntime({ store, agents: [agent] })
    expect((await elsewhere.get(sixth)).state).toEqual(state)
    expect(state.summary).toEqual({ upTo: 9, text: '9 messages about deploys' })
    expect(state.usage.inputTokens).toBe(1 + 50)
    expect(summaryModel.calls).toBe(1)
  })
})

describe('factor 4: tools are structured outputs', () => {
  it('the schema is checked before the handler runs; the model reads the error and the output', async () => {
    const model = toolThenAnswer(
      [
        [{ id: 'd1', name: 'create_deployment', input: { environment: 'qa', version: '1.2.0' } }],
        [{ id: 'd2', name: 'create_deployment', input: { environment: 'prod', version: '1.2.0' } }],
      ],
      (request) => JSON.stringify(toolResults(request)[0]),
    )
    let runs = 0
    // #region factor-4
    const createDeployment = defineTool({
      name: 'create_deployment',
      description: 'Deploys a version to an environment.',
      input: {
        type: 'object',
        properties: {
          environment: { type: 'string', enum: ['dev', 'staging', 'prod'] },
          version: { type: 'string' },
        },
        required: ['environment', 'version'],
      },
      output: {
        type: 'object',
        properties: { deployment_id: { type: 'string' }, status: { type: 'string' } },
        required: ['deployment_id', 'status'],
      },
      // The model decides what; this deterministic code decides how.
      handler: ({ environment, version }: { environment: string; version: string }) => {
        runs += 1
        return environment === 'prod'
          ? { deployment_id: `approval-${version}`, status: 'pending_approval' }
          : { deployment_id: `dep-${version}`, status: 'deployed' }
      },
    })
    const agent = new Agent({ id: 'deployer', model, tools: [createDeployment] })
    const answer = await agent.run('Deploy 1.2.0 to qa, or else to prod')
    // #endregion
    expect(runs).toBe(1)
    expect(toolResults(model.requests[1])[0]).toMatchObject({
      error: expect.stringMatching(/^Invalid arguments for 'create_deployment': \/environment/),
    })
    expect(JSON.parse(String(answer))).toMatchObject({
      output: { deployment_id: 'approval-1.2.0', status: 'pending_approval' },
    })
  })
})

describe('factor 5: unify execution state and business state', () => {
  it('handlers see the run and session ids; the journal is the run, and the state is rebuilt from it', async () => {
    const model = toolThenAnswer(
      [[{ id: 'd1', name: 'create_deployment', input: { version: '1.2.0' } }]],
      () => 'Done.',
    )
    // #region factor-5
    const deployments = new Map<string, { runId: string; sessionId: string | null; status: string }>()
    const createDeployment = defineTool({
      name: 'create_deployment',
      description: 'Deploys a version.',
      input: { type: 'object', properties: { version: { type: 'string' } }, required: ['version'] },
      handler: ({ version }: { version: string }, ctx) => {
        const id = `dep-${version}`
        // Business state, linked to the agent's execution state by ids.
        deployments.set(id, { runId: ctx.runId, sessionId: ctx.sessionId, status: 'deployed' })
        return { deployment_id: id, status: 'deployed' }
      },
    })
    const agent = new Agent({ id: 'deployment-agent', model, tools: [createDeployment] })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const handle = await agent.start('Deploy 1.2.0', { sessionId: 'ops' })
    await handle.result
    const journal = await runtime.journal(handle.runId)
    // #endregion
    expect(deployments.get('dep-1.2.0')).toEqual({
      runId: handle.runId,
      sessionId: 'ops',
      status: 'deployed',
    })
    expect(journal.map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
      'tool.started',
      'tool.succeeded',
      'model.responded',
    ])
    expect(journal[3]?.data).toMatchObject({ output: { deployment_id: 'dep-1.2.0', status: 'deployed' } })
    expect(stateFromEvents(eventsOf(journal))).toEqual((await runtime.get(handle.runId)).state)
  })
})

describe('factor 6: launch, pause, resume', () => {
  it('a run pauses for approval holding no memory, and any process resumes it', async () => {
    const model = toolThenAnswer([[{ id: 'call_deploy', name: 'deploy_to_prod', input: {} }]], (request) =>
      String((toolResults(request)[0] as { output?: JsonValue }).output),
    )
    const store = createMemoryStore()
    // #region factor-6
    const deployToProd = defineTool({
      name: 'deploy_to_prod',
      description: 'Deploys to production.',
      input: { type: 'object' },
      needsApproval: true,
      handler: () => 'deployed',
    })
    const define = () => new Agent({ id: 'my-agent', model, tools: [deployToProd] })
    const worker = createRuntime({ store, agents: [define()] })
    const handle = await worker.spawn('my-agent', { message: 'Ship it' }, { sessionId: 'alice' }) // launch
    await until(async () => (await store.getRun(handle.runId))?.status === 'waiting') // (test)
    // ... it pauses at the approval, and leaves memory; later, in any process:
    const other = createRuntime({ store, agents: [define()] })
    await other.approve(handle.runId, 'call_deploy') // resume
    // #endregion
    expect(worker.isActive(handle.runId)).toBe(false)
    expect(await other.handle(handle.runId).result).toBe('deployed')
  })

  it('a deploy: shutdown while the model answers hands the run over; the next worker finishes it', async () => {
    let answering: () => void = () => undefined
    const underWay = new Promise<void>((resolve) => {
      answering = resolve
    })
    const model = createScriptedModel({
      respond: async (_request, { call, signal }) => {
        if (call > 0) return { text: 'Shipped.' }
        answering()
        // The first call lasts until the old worker stops it.
        await new Promise((_resolve, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason)),
        )
        return { text: 'never' }
      },
    })
    const store = createMemoryStore()
    const define = () => new Agent({ id: 'my-agent', model })
    // #region factor-6-deploy
    const worker = createRuntime({ store, agents: [define()] })
    const handle = await worker.spawn('my-agent', 'Ship it')
    await underWay // (test)
    await worker.shutdown() // the old worker stops: the run is handed back, not lost
    const next = createRuntime({ store, agents: [define()] })
    await next.recover() // the new worker continues every unfinished run
    const answer = await next.handle(handle.runId).result
    // #endregion
    expect(answer).toBe('Shipped.')
    await until(async () => (await store.getRun(handle.runId))?.status === 'completed')
    expect(model.calls).toBe(2)
  })
})
