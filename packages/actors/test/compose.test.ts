import { defineTool, type Message, ProviderError, type StreamPart } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, asTool, createRuntime, handoff, parallel, route, sequence } from '../src/index.ts'
import { collect, scripted } from './support.ts'

const lastUserText = (messages: ReadonlyArray<Message>): string => {
  const user = [...messages].reverse().find((message) => message.role === 'user')
  return typeof user?.content === 'string' ? user.content : ''
}

/** An agent whose answer is a function of its input text. */
const transform = (id: string, fn: (input: string) => string) =>
  new Agent({
    id,
    model: scripted((request) => ({ text: fn(lastUserText(request.messages)) })),
    policies: { retry: false },
  })

/** An agent that fails its first `failures` runs (counted across runs), then answers. */
const failing = (id: string, failures: number, answer = `${id} ok`) => {
  let calls = 0
  return new Agent({
    id,
    model: scripted(() => {
      calls += 1
      if (calls <= failures)
        throw new ProviderError({ reason: 'bad-request', message: `${id} broke`, provider: 'test' })
      return { text: answer }
    }),
    policies: { retry: false },
  })
}

/** The parts of one child run, unwrapped from the parent's `data-vel-child` parts. */
const childParts = (parts: StreamPart[], runId: string): StreamPart[] =>
  parts.flatMap((part) => {
    if (part.type !== 'data-vel-child' || part.transient) return []
    const data = part.data as { runId: string; part: StreamPart }
    return data.runId === runId ? [data.part] : []
  })

const agentMarkers = (parts: StreamPart[]) =>
  parts.flatMap((part) =>
    part.type === 'data-vel-agent' ? [part.data as { agentId: string; status: string }] : [],
  )

describe('sequence', () => {
  it('passes each answer to the next agent; children are linked runs; one well-formed stream', async () => {
    const pipeline = sequence(
      [
        transform('upper', (text) => text.toUpperCase()),
        transform('exclaim', (text) => `${text}!`),
        transform('wrap', (text) => `[${text}]`),
      ],
      { id: 'pipeline' },
    )
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('hello')
    const parts = await collect(handle.parts())
    expect(await handle.result).toBe('[HELLO!]')
    expect(agentMarkers(parts).map((marker) => `${marker.agentId}:${marker.status}`)).toEqual([
      'upper:started',
      'upper:ended',
      'exclaim:started',
      'exclaim:ended',
      'wrap:started',
      'wrap:ended',
    ])
    // A child's parts come wrapped, with the child run's id: here the first stage's answer.
    const upper = (await runtime.store.listRuns({ agentId: 'upper' })).items[0]?.runId
    expect(
      childParts(parts, upper ?? '')
        .filter((part) => part.type === 'text-delta')
        .map((part) => (part as { delta: string }).delta),
    ).toEqual(['HELLO'])
    const children = await runtime.store.listRuns({ parentRunId: handle.runId })
    expect(children.items.map((run) => run.agentId).sort()).toEqual(['exclaim', 'upper', 'wrap'])
    expect(children.items.every((run) => run.status === 'completed')).toBe(true)
    const journal = await runtime.journal(handle.runId)
    expect(journal.filter((entry) => entry.type === 'tool.succeeded')).toHaveLength(3)
  })

  it('escalate (default): a failing stage fails the pipeline', async () => {
    const pipeline = sequence([transform('a1', (t) => t), failing('b1', 99)], { id: 'escalating' })
    createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    await expect(pipeline.run('x')).rejects.toMatchObject({
      _tag: 'RunError',
      message: expect.stringContaining("agent 'b1' failed"),
    })
  })

  it('restart: a failing stage is run again with backoff until it succeeds', async () => {
    const pipeline = sequence([failing('flaky', 2, 'third time lucky')], {
      id: 'restarting',
      supervision: { strategy: 'restart', maxRestarts: 3, initialDelayMs: 1 },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('x')
    expect(await handle.result).toBe('third time lucky')
    const children = await runtime.store.listRuns({ parentRunId: handle.runId })
    expect(children.items.map((run) => run.status).sort()).toEqual(['completed', 'failed', 'failed'])
  })

  it('restart gives up after maxRestarts and escalates', async () => {
    const pipeline = sequence([failing('hopeless', 99)], {
      id: 'giving-up',
      supervision: { strategy: 'restart', maxRestarts: 2, initialDelayMs: 1 },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('x')
    await expect(handle.result).rejects.toMatchObject({ _tag: 'RunError' })
    expect((await runtime.store.listRuns({ parentRunId: handle.runId })).items).toHaveLength(3)
  })

  it('resume: a failing stage is skipped and the next gets the last good answer', async () => {
    const pipeline = sequence(
      [transform('first', () => 'draft'), failing('broken', 99), transform('last', (t) => `${t}+final`)],
      {
        id: 'resuming',
        supervision: 'resume',
      },
    )
    createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    expect(await pipeline.run('x')).toBe('draft+final')
  })

  it('stop: the pipeline ends with what it has', async () => {
    const pipeline = sequence(
      [transform('first', () => 'draft'), failing('broken', 99), transform('never', () => 'no')],
      {
        id: 'stopping',
        supervision: 'stop',
      },
    )
    createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    expect(await pipeline.run('x')).toBe('draft')
  })
})

describe('parallel', () => {
  it('fans out under a concurrency limit and merges', async () => {
    let running = 0
    let peak = 0
    const slow = (id: string) =>
      new Agent({
        id,
        model: scripted(async () => {
          running += 1
          peak = Math.max(peak, running)
          await new Promise((resolve) => setTimeout(resolve, 20))
          running -= 1
          return { text: `${id} says hi` }
        }),
        policies: { retry: false },
      })
    const fan = parallel([slow('p1'), slow('p2'), slow('p3')], { id: 'fan', concurrency: 2 })
    createRuntime({ store: createMemoryStore(), agents: [fan] })
    const parts = await collect(fan.stream('hi'))
    expect(peak).toBe(2)
    const answer = parts.filter((part) => part.type === 'text-delta').at(-1) as { delta: string }
    expect(JSON.parse(answer.delta)).toEqual({ p1: 'p1 says hi', p2: 'p2 says hi', p3: 'p3 says hi' })
  })

  it('merges with a custom function, and resume keeps failed branches as errors', async () => {
    const fan = parallel([transform('ok1', () => 'yes'), failing('bad1', 99)], {
      id: 'fan2',
      supervision: 'resume',
      merge: (results) => results.map((result) => result.output ?? `error: ${result.error}`).join(' | '),
    })
    createRuntime({ store: createMemoryStore(), agents: [fan] })
    expect(await fan.run('go')).toMatch(/^yes \| error: agent 'bad1' failed/)
  })
})

describe('route', () => {
  const billing = transform('billing', () => 'billing handled it')
  const tech = transform('tech', () => 'tech handled it')

  it('routes by a classifier function', async () => {
    const router = route(
      (input) => (input.includes('invoice') ? 'billing' : 'tech'),
      { billing, tech },
      { id: 'router' },
    )
    createRuntime({ store: createMemoryStore(), agents: [router] })
    expect(await router.run('my invoice is wrong')).toBe('billing handled it')
    expect(await router.run('the app crashes')).toBe('tech handled it')
  })

  it('routes by a classifier agent, and fails clearly on an unknown label', async () => {
    const classifier = transform('classifier', (text) => (text.includes('money') ? 'billing' : 'sales'))
    const router = route(classifier, { billing, tech }, { id: 'agent-router' })
    createRuntime({ store: createMemoryStore(), agents: [router] })
    expect(await router.run('money please')).toBe('billing handled it')
    await expect(router.run('buy')).rejects.toMatchObject({
      message: expect.stringContaining("classifier answered 'sales'"),
    })
  })
})

describe('agents as tools and handoff', () => {
  it('an LLM agent calls another agent as a tool', async () => {
    const researcher = transform('researcher', (question) => `facts about ${question}`)
    const writer = new Agent({
      id: 'writer',
      model: scripted((request) => {
        const last = request.messages.at(-1)
        if (last?.role === 'tool')
          return { text: `Article: ${JSON.stringify((last.content[0] as { output: unknown }).output)}` }
        return { toolCalls: [{ id: 'r1', name: 'research', input: { input: 'otters' } }] }
      }),
      tools: [asTool(researcher, { name: 'research' })],
      children: [researcher],
      policies: { retry: false },
    })
    createRuntime({ store: createMemoryStore(), agents: [writer] })
    expect(await writer.run('write about otters')).toBe('Article: "facts about otters"')
  })

  it('handoff: the specialist gets the conversation and its answer is the answer', async () => {
    let seen: ReadonlyArray<Message> = []
    const specialist = new Agent({
      id: 'specialist',
      model: scripted((request) => {
        seen = request.messages
        return { text: 'specialist answer' }
      }),
      policies: { retry: false },
    })
    const triage = new Agent({
      id: 'triage',
      model: scripted(() => ({
        toolCalls: [{ id: 'h', name: 'handoff_to_specialist', input: { input: 'please take over' } }],
      })),
      tools: [handoff(specialist)],
      children: [specialist],
      policies: { retry: false },
    })
    createRuntime({ store: createMemoryStore(), agents: [triage] })
    expect(await triage.run('I need an expert')).toBe('specialist answer')
    expect(seen.map((message) => message.role)).toEqual(['user', 'user'])
    expect(seen[0]).toEqual({ role: 'user', content: 'I need an expert' })
  })
})

describe('budgets across the tree', () => {
  it('a time budget on the pipeline bounds its children and fails it gracefully', async () => {
    const stuck = new Agent({
      id: 'stuck',
      model: scripted(
        (_request, { signal }) =>
          new Promise((_resolve, reject) =>
            signal?.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
      ),
      policies: { retry: false },
    })
    const pipeline = sequence([transform('quick', (t) => t), stuck], { id: 'bounded', maxDurationMs: 150 })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('x')
    const parts = await collect(handle.parts())
    // The parent's timer and the child's (same deadline) race: either way the tree wraps up on time.
    expect(parts).toContainEqual({
      type: 'error',
      errorText: expect.stringMatching(/time budget was exhausted/),
    })
    await expect(handle.result).rejects.toMatchObject({
      reason: expect.stringMatching(/^(budget-exceeded|child-failed)$/),
    })
    const child = (await runtime.store.listRuns({ agentId: 'stuck' })).items[0]
    await expect
      .poll(async () => (await runtime.store.getRun(child?.runId ?? ''))?.status)
      .not.toBe('running')
    const childState = await runtime.get(child?.runId ?? '')
    expect(childState.state.policy.deadline).toBe((await runtime.get(handle.runId)).state.policy.deadline)
  })
})

describe('humans deep in the tree', () => {
  it('an approval requested by a grandchild surfaces at the top and is answered there', async () => {
    const deploy = defineTool({
      name: 'deploy',
      description: 'Deploys.',
      input: { type: 'object' },
      handler: () => 'deployed',
      needsApproval: true,
    })
    const deployer = new Agent({
      id: 'deployer',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'deploy done' }
          : { toolCalls: [{ id: 'deploy-1', name: 'deploy', input: {} }] },
      ),
      tools: [deploy],
      policies: { retry: false },
    })
    const inner = sequence([deployer], { id: 'inner' })
    const outer = sequence([transform('prep', () => 'ready'), inner], { id: 'outer' })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [outer] })
    const handle = await outer.start('ship it')
    const parts: StreamPart[] = []
    for await (const part of handle.parts()) {
      parts.push(part)
      if (
        part.type === 'data-vel-child' &&
        (part.data as { part: StreamPart }).part.type === 'tool-approval-request'
      )
        break
    }
    const deployerRun = (await runtime.store.listRuns({ agentId: 'deployer' })).items[0]
    expect(parts.at(-1)).toEqual({
      type: 'data-vel-child',
      data: {
        runId: deployerRun?.runId,
        agentId: 'deployer',
        part: { type: 'tool-approval-request', approvalId: 'deploy-1', toolCallId: 'deploy-1' },
      },
    })
    await handle.approve('deploy-1', { by: 'ops' })
    expect(await handle.result).toBe('deploy done')
    const journal = await runtime.journal(deployerRun?.runId ?? '')
    expect(journal.find((entry) => entry.type === 'approval.decided')?.data).toMatchObject({
      approved: true,
      by: 'ops',
    })
  })
})
