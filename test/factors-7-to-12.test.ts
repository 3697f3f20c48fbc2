/**
 * Factors 7 to 12 of 12-Factor Agents, each as the Python Vel seed's example is ported to Vel (the
 * code between `#region` and `#endregion` is what docs/twelve-factors.md shows, checked by
 * docs-examples.test.ts), asserting what the seed promises. `model` is a scripted model.
 */
import { Agent, contactHuman, createRuntime } from '@vel/actors'
import {
  type Command,
  defineTool,
  emptyRunState,
  events,
  type JsonValue,
  type RunState,
  type StreamPart,
  step,
} from '@vel/core'
import { createHttpApp } from '@vel/http'
import { createScriptedModel } from '@vel/providers/testing'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it, vi } from 'vitest'
import { manualClock, toolResults, toolThenAnswer, until } from './factor-support.ts'

vi.setConfig({ testTimeout: 60_000 })

const hour = 60 * 60 * 1000
const outputOf = (request: Parameters<typeof toolResults>[0]) =>
  String((toolResults(request)[0] as { output?: JsonValue } | undefined)?.output)

describe('factor 7: contact humans with tool calls', () => {
  it('an approval answered an hour later completes the run; it waited passivated, and no tool timeout fired', async () => {
    const model = toolThenAnswer([[{ id: 'call_deploy', name: 'deploy', input: { env: 'prod' } }]], outputOf)
    const clock = manualClock()
    const store = createMemoryStore()
    // #region factor-7
    const deploy = defineTool({
      name: 'deploy',
      description: 'Deploys to an environment.',
      input: { type: 'object', properties: { env: { type: 'string' } }, required: ['env'] },
      needsApproval: true, // the run waits for a person: no handler runs, nothing times out
      handler: ({ env }: { env: string }) => `deployed to ${env}`,
    })
    const define = () => new Agent({ id: 'deployment-agent', model, tools: [contactHuman, deploy] })
    const worker = createRuntime({ store, agents: [define()], now: clock.now })
    const handle = await worker.spawn('deployment-agent', 'Deploy to prod')
    await until(async () => (await store.getRun(handle.runId))?.status === 'waiting') // (test)
    clock.advance(1 * hour) // (test)
    // An hour later, on whichever worker gets the answer:
    const later = createRuntime({ store, agents: [define()], now: clock.now })
    await later.approve(handle.runId, 'call_deploy', { by: 'ada', reason: 'change window open' })
    const answer = await later.handle(handle.runId).result
    // #endregion
    expect(answer).toBe('deployed to prod')
    expect(worker.isActive(handle.runId)).toBe(false)
    const journal = await later.journal(handle.runId)
    expect(journal.map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
      'approval.decided',
      'tool.started',
      'tool.succeeded',
      'model.responded',
    ])
    expect(journal[2]?.data).toMatchObject({ approved: true, by: 'ada' })
    // The tool ran an hour after the request, with the default 60 s timeout, which did not fire.
    expect(journal[3]?.at).toBe((journal[1]?.at ?? 0) + hour)
  })

  it('the seed handler ported literally (waiting in the handler) fails loudly, naming the way to wait', async () => {
    const model = toolThenAnswer([[{ id: 'r1', name: 'request_approval', input: {} }]], (request) =>
      String((toolResults(request)[0] as { error?: string }).error),
    )
    const waitsInHandler = defineTool({
      name: 'request_approval',
      description: 'Asks for approval.',
      input: { type: 'object' },
      timeoutMs: 20, // the default is 60 s; an hour-long wait meets it all the same
      handler: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
    })
    const agent = new Agent({ id: 'literal-port', model, tools: [waitsInHandler] })
    const answer = String(await agent.run('Deploy to prod'))
    expect(answer).toContain("Tool 'request_approval' timed out after 20 ms")
    expect(answer).toContain('use needsApproval, or the contactHuman tool')
  })
})

describe('factor 8: own your control flow', () => {
  const deployModel = () =>
    toolThenAnswer([[{ id: 'd1', name: 'deploy', input: { env: 'prod' } }]], (request) => {
      const [result] = toolResults(request)
      return result && 'error' in result ? result.error : String((result as { output: JsonValue }).output)
    })

  it('policies { maxSteps, retry: { attempts: 2 } } retry a failing idempotent tool twice', async () => {
    const model = deployModel()
    let attempts = 0
    // #region factor-8-policies
    const deploy = defineTool({
      name: 'deploy',
      description: 'Deploys.',
      input: { type: 'object' },
      sideEffects: 'idempotent', // safe to run again: only such tools are retried
      handler: () => {
        attempts += 1
        if (attempts === 1) throw new Error('registry timeout')
        return 'deployed'
      },
    })
    const agent = new Agent({
      id: 'my-agent',
      model,
      tools: [deploy],
      policies: { maxSteps: 5, retry: { attempts: 2 } },
    })
    const answer = await agent.run('Deploy to prod')
    // #endregion
    expect(attempts).toBe(2)
    expect(answer).toBe('deployed')
  })

  it('breaking out of the stream loop at the tool input stops the run before the tool starts', async () => {
    const model = deployModel()
    let deployed = 0
    const isBusinessHours = () => false
    const logged: string[] = []
    const log = (line: string) => logged.push(line)
    // #region factor-8-stream
    const deploy = defineTool({
      name: 'deploy',
      description: 'Deploys.',
      input: { type: 'object' },
      handler: () => {
        deployed += 1
        return 'deployed'
      },
    })
    const agent = new Agent({ id: 'deployer', model, tools: [deploy] })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    let runId = ''
    for await (const part of agent.stream({ message: 'Deploy backend' })) {
      if (part.type === 'start') runId = part.messageId ?? ''
      if (part.type === 'tool-input-available' && part.toolName === 'deploy' && !isBusinessHours()) {
        log('Deployment blocked: outside business hours')
        break // the run is cancelled; deploy never starts
      }
    }
    // #endregion
    await until(async () => (await runtime.record(runId))?.status === 'cancelled')
    expect(logged).toEqual(['Deployment blocked: outside business hours'])
    expect(deployed).toBe(0)
    expect((await runtime.journal(runId)).map((entry) => entry.type)).not.toContain('tool.started')
  })

  it('a guard refuses a tool call whoever triggers the run; the model reads why', async () => {
    const model = deployModel()
    let deployed = 0
    const isBusinessHours = () => false
    // #region factor-8-guard
    const deploy = defineTool({
      name: 'deploy',
      description: 'Deploys.',
      input: { type: 'object' },
      handler: () => {
        deployed += 1
        return 'deployed'
      },
    })
    const agent = new Agent({
      id: 'guarded-deployer',
      model,
      tools: [deploy],
      policies: {
        guard: (call) =>
          call.toolName === 'deploy' && !isBusinessHours()
            ? { allow: false, reason: 'outside business hours' }
            : { allow: true },
      },
    })
    const parts: StreamPart[] = []
    for await (const part of agent.stream('Deploy backend')) parts.push(part)
    // #endregion
    expect(deployed).toBe(0)
    expect(parts).toContainEqual({ type: 'tool-output-denied', toolCallId: 'd1' })
    expect(
      parts
        .filter((part) => part.type === 'text-delta')
        .map((part) => part.delta)
        .join(''),
    ).toBe('Denied by policy: outside business hours. Do not retry this call unchanged.')
  })
})

describe('factor 9: compact errors into the context window', () => {
  it('a failing tool becomes a short error the model reads; a repeat is folded to one line', async () => {
    const call = (id: string) => [{ id, name: 'unstable_api', input: {} }]
    const model = toolThenAnswer([call('u1'), call('u2')], () => 'Gave up after two tries.')
    // #region factor-9
    const unstable = defineTool({
      name: 'unstable_api',
      description: 'Calls an unstable API.',
      input: { type: 'object' },
      handler: () => {
        throw new Error(`upstream 503: ${'<html>…</html>'.repeat(500)}`)
      },
    })
    const agent = new Agent({ id: 'resilient', model, tools: [unstable], policies: { maxErrorChars: 200 } })
    const answer = await agent.run('Deploy app')
    // #endregion
    expect(answer).toBe('Gave up after two tries.')
    const first = toolResults(model.requests[1])[0] as { error: string }
    expect(first.error.startsWith("Tool 'unstable_api' failed: upstream 503")).toBe(true)
    expect(first.error.length).toBeLessThanOrEqual(200)
    const third = model.requests[2]?.messages ?? []
    expect(third.at(-1)).toMatchObject({
      content: [{ error: "Same error as before from 'unstable_api' (repeat 2)." }],
    })
  })
})

describe('factor 10: small, focused agents', () => {
  it('three small agents composed by plain code, each with its own tools and run', async () => {
    const agentModel = (tool: string, input: JsonValue) =>
      toolThenAnswer([[{ id: `${tool}-1`, name: tool, input }]], outputOf)
    const tool = (name: string, output: string) =>
      defineTool({ name, description: name, input: { type: 'object' }, handler: () => output })
    const [approvalModel, deploymentModel, monitoringModel] = [
      agentModel('request_approval', {}),
      agentModel('deploy', {}),
      agentModel('get_metrics', {}),
    ]
    // #region factor-10
    const approvalAgent = new Agent({
      id: 'approval-agent',
      model: approvalModel,
      tools: [tool('request_approval', 'Approved by ada')],
    })
    const deploymentAgent = new Agent({
      id: 'deployment-agent',
      model: deploymentModel,
      tools: [tool('deploy', 'dep-7')],
    })
    const monitoringAgent = new Agent({
      id: 'monitoring-agent',
      model: monitoringModel,
      tools: [tool('get_metrics', 'all green')],
    })
    createRuntime({ store: createMemoryStore(), agents: [approvalAgent, deploymentAgent, monitoringAgent] })

    async function deployWithApproval(environment: string, version: string) {
      const approval = await approvalAgent.run({
        message: `Request approval to deploy ${version} to ${environment}`,
      })
      if (!String(approval).toLowerCase().includes('approved')) return 'not approved'
      const result = await deploymentAgent.run({ message: `Deploy ${version} to ${environment}` })
      return monitoringAgent.run({ message: `Monitor deployment ${result} for 5 minutes` })
    }
    const status = await deployWithApproval('prod', '1.2.0')
    // #endregion
    expect(status).toBe('all green')
    expect(approvalModel.requests[0]?.tools?.map((spec) => spec.name)).toEqual(['request_approval'])
    expect(deploymentModel.requests[0]?.tools?.map((spec) => spec.name)).toEqual(['deploy'])
    expect(monitoringModel.requests[0]?.messages).toEqual([
      { role: 'user', content: 'Monitor deployment dep-7 for 5 minutes' },
    ])
  })
})

describe('factor 11: trigger from anywhere', () => {
  it('POST /runs starts a run; a body naming provider or model is refused with a 400 naming them', async () => {
    const model = createScriptedModel({
      respond: (request) => ({ text: `hello back (${request.messages.length})` }),
    })
    const agent = new Agent({ id: 'my-agent', model })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    // #region factor-11
    const app = createHttpApp({ runtime }) // serve({ runtime, port: 8000 }) listens on a port
    const post = (body: object) =>
      app.request('/runs?wait=true', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const started = await post({ agent_id: 'my-agent', input: { message: 'hello' } })
    const refused = await post({
      agent_id: 'my-agent',
      provider: 'openai',
      model: 'gpt-4o',
      input: { message: 'hello' },
    })
    // #endregion
    expect(started.status).toBe(201)
    expect(await started.json()).toMatchObject({ status: 'completed', answer: 'hello back (1)' })
    expect(refused.status).toBe(400)
    const problem = (await refused.json()) as { errors?: Array<{ field: string }> }
    expect(JSON.stringify(problem)).toContain('provider')
    expect(JSON.stringify(problem)).toContain('model')
    expect(model.calls).toBe(1)
  })
})

describe('factor 12: make your agent a stateless reducer', () => {
  it("the seed's walk-through, one line per event, gives the same states and commands every time", () => {
    // #region factor-12
    const trace = [
      events.started({ message: 'Weather in NYC?' }, { runId: 'run-123' }),
      events.toolCalls([{ id: 'w1', name: 'get_weather', input: { city: 'NYC' }, sideEffects: 'none' }]),
      events.toolResult('w1', { temp_f: 65, condition: 'cloudy' }),
      events.modelText('The weather is cloudy, 65°F'),
    ]
    const walk = () => {
      let state: RunState = emptyRunState
      const effects: Command['type'][] = []
      for (const event of trace) {
        const [next, commands] = step(state, event) // pure: (state, event) -> [state, commands]
        state = next
        effects.push(...commands.map((command) => command.type))
      }
      return { state, effects }
    }
    // #endregion
    const first = walk()
    expect(trace).toHaveLength(4)
    expect(first.state).toMatchObject({ phase: 'completed', answer: 'The weather is cloudy, 65°F' })
    expect(first.effects).toEqual([
      'emit',
      'call-model',
      'emit',
      'call-tool',
      'emit',
      'call-model',
      'emit',
      'finish',
    ])
    const again = walk()
    expect(again).toEqual(first)
    expect(JSON.parse(JSON.stringify(first.state))).toEqual(first.state)
  })
})
