import {
  assertWellFormedStream,
  defineTool,
  type Message,
  type PositionedPart,
  type RunEvent,
  type Store,
  type StreamPart,
  stateFromEvents,
} from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime, parallel, type Runtime, sequence } from '../src/index.ts'
import { freezable, gate, storeBackends, until } from './run-support.ts'
import { scripted } from './support.ts'

const backends = storeBackends('vel-supervision-')

/** The parts of one child run, unwrapped from its ancestor's `data-vel-child` parts. */
const childParts = (parts: ReadonlyArray<StreamPart>, runId: string): StreamPart[] =>
  parts.flatMap((part) => {
    if (part.type !== 'data-vel-child' || part.transient) return []
    const data = part.data as { runId: string; part: StreamPart }
    return data.runId === runId ? [data.part] : []
  })

/** A live preview of a descendant's part: transient, not in the message, not journaled. */
const isPreview = (part: StreamPart) =>
  part.type.startsWith('data-') && (part as { transient?: boolean }).transient === true

const isChildApproval = (part: StreamPart) =>
  part.type === 'data-vel-child' && (part.data as { part: StreamPart }).part.type === 'tool-approval-request'

const all = async (parts: AsyncIterable<PositionedPart>) => {
  const out: PositionedPart[] = []
  for await (const positioned of parts) out.push(positioned)
  return out
}

const lastUserText = (messages: ReadonlyArray<Message>): string => {
  const user = [...messages].reverse().find((message) => message.role === 'user')
  return typeof user?.content === 'string' ? user.content : ''
}

const runOf = async (runtime: Runtime, agentId: string) => {
  const run = (await runtime.list({ agentId })).items[0]
  if (run === undefined) throw new Error(`no run of ${agentId}`)
  return run.runId
}

/**
 * An agent that calls its `work` tool twice, then answers `<id> done`: three model calls. With
 * `blockOn`, that call of the tool (1 or 2) waits until it is aborted (the run is cancelled).
 */
const worker = (id: string, blockOn?: number, price?: { inputPerMTok: number; outputPerMTok: number }) => {
  let calls = 0
  return new Agent({
    id,
    ...(price === undefined ? {} : { price }),
    model: scripted((request) => {
      const done = request.messages.filter((message) => message.role === 'tool').length
      return done < 2
        ? { toolCalls: [{ id: `${id}-w${done + 1}`, name: 'work', input: {} }] }
        : { text: `${id} done` }
    }),
    tools: [
      defineTool({
        name: 'work',
        description: 'Works.',
        input: { type: 'object' },
        sideEffects: 'idempotent',
        handler: (_input, context) => {
          calls += 1
          if (calls !== blockOn) return 'worked'
          return new Promise((_resolve, reject) =>
            context.signal.addEventListener('abort', () => reject(new Error('stopped'))),
          )
        },
      }),
    ],
    policies: { retry: false },
  })
}

describe('a child run is a child of its parent', () => {
  it("a child's and a grandchild's parts, with the grandchild's approval, are in the parent's stream, durably", async () => {
    const deployer = new Agent({
      id: 'deployer',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: ['deploy ', 'done'] }
          : { text: 'checking', toolCalls: [{ id: 'deploy-1', name: 'deploy', input: { env: 'prod' } }] },
      ),
      tools: [
        defineTool({
          name: 'deploy',
          description: 'Deploys.',
          input: { type: 'object' },
          handler: () => 'deployed',
          needsApproval: true,
        }),
      ],
      policies: { retry: false },
    })
    const prep = new Agent({
      id: 'prep',
      model: scripted((request) => ({ text: `ready: ${lastUserText(request.messages)}` })),
      policies: { retry: false },
    })
    const inner = sequence([deployer], { id: 'inner' })
    const outer = sequence([prep, inner], { id: 'outer' })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [outer] })
    const handle = await outer.start('ship it')

    const live: PositionedPart[] = []
    for await (const positioned of runtime.stream(handle.runId)) {
      live.push(positioned)
      if (isChildApproval(positioned.part)) break
    }
    const deployerRun = await runOf(runtime, 'deployer')
    const innerRun = await runOf(runtime, 'inner')
    expect(live.at(-1)?.part).toEqual({
      type: 'data-vel-child',
      data: {
        runId: deployerRun,
        agentId: 'deployer',
        part: { type: 'tool-approval-request', approvalId: 'deploy-1', toolCallId: 'deploy-1' },
      },
    })
    // The grandchild knows its parent and its root.
    expect((await runtime.get(deployerRun)).state).toMatchObject({
      parentRunId: innerRun,
      rootRunId: handle.runId,
    })
    // A reader that continues from there (reading before the decision, so it sees the live previews).
    const reading = (async () => {
      for await (const positioned of runtime.stream(handle.runId, { after: live.at(-1)?.position as never }))
        live.push(positioned)
    })()
    // Approved through the parent's id: routed to the grandchild that waits on it.
    await runtime.approve(handle.runId, 'deploy-1', { by: 'ops' })
    await reading
    expect(await handle.result).toBe('deploy done')

    const withPreviews = live.map((positioned) => positioned.part)
    assertWellFormedStream(withPreviews)
    // Live previews of the children's model calls came first (kept out of the message), then the
    // durable copies.
    expect(withPreviews.filter(isPreview)).toContainEqual({
      type: 'data-vel-child',
      transient: true,
      data: {
        runId: expect.any(String),
        agentId: 'deployer',
        part: expect.objectContaining({ type: 'text-delta', delta: 'deploy ' }),
      },
    })
    const parts = withPreviews.filter((part) => !isPreview(part))
    // Through the parent, each descendant's parts are that run's own stream, well formed.
    const ownDeployer = (await all(runtime.stream(deployerRun, { follow: false }))).map((p) => p.part)
    expect(childParts(parts, deployerRun)).toEqual(ownDeployer)
    assertWellFormedStream(childParts(parts, deployerRun))
    expect(childParts(parts, deployerRun)).toContainEqual({
      type: 'tool-output-available',
      toolCallId: 'deploy-1',
      output: 'deployed',
    })
    const prepRun = await runOf(runtime, 'prep')
    expect(childParts(parts, prepRun)).toContainEqual({
      type: 'text-delta',
      id: expect.any(String),
      delta: 'ready: ship it',
    })
    // The inner pipeline's own parts are there too (its planner's answer), apart from its child's.
    expect(childParts(parts, innerRun).filter((part) => part.type === 'data-vel-child')).toEqual([])
    assertWellFormedStream(childParts(parts, innerRun).filter((part) => part.type !== 'data-vel-agent'))

    // Durable: a replay of the parent's journal gives what the live reader saw, and a reader that
    // reconnects after any part gets exactly the rest.
    const replay = await all(runtime.stream(handle.runId, { follow: false }))
    expect(replay.map((positioned) => positioned.part)).toEqual(parts)
    for (let index = 0; index < live.length; index++) {
      const rest = await all(
        runtime.stream(handle.runId, { after: (live[index] as PositionedPart).position, follow: false }),
      )
      const before = withPreviews.slice(0, index + 1).filter((part) => !isPreview(part))
      expect([...before, ...rest.map((positioned) => positioned.part)]).toEqual(parts)
    }
    await runtime.shutdown()
  })
})

describe('budgets are charged up the tree', () => {
  it("children that together go past the pipeline's maxSteps are stopped and the pipeline ends with what it has", async () => {
    // s0 makes 3 model calls; s1's second call is the fifth of the tree, past 4: s1 is stopped in
    // its second tool (which only ends when aborted), and s2 never starts.
    const pipeline = sequence([worker('s0'), worker('s1', 2), worker('s2')], { id: 'budgeted', maxSteps: 4 })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('go')
    const parts = (await all(runtime.stream(handle.runId))).map((positioned) => positioned.part)
    expect(await handle.result).toBe('s0 done')
    assertWellFormedStream(parts)
    expect(parts).toContainEqual({
      type: 'tool-output-error',
      toolCallId: 'stage_1',
      errorText: 'Stopped: the step budget of this run and its children was exhausted.',
    })
    const s1 = await runOf(runtime, 's1')
    await until(async () => (await runtime.record(s1))?.status === 'cancelled')
    expect((await runtime.list({ agentId: 's2' })).items).toEqual([])
    // Journaled: the journal alone gives the charge, the same on every replay.
    const journal = await runtime.journal(handle.runId)
    const replayed = stateFromEvents(journal.map((entry) => entry.data as unknown as RunEvent))
    expect(replayed).toMatchObject({ phase: 'completed', answer: 's0 done', charged: { steps: 5 } })
    expect(replayed.charged?.usage).toMatchObject({ inputTokens: 5, outputTokens: 5 })
    expect((await runtime.get(handle.runId)).state.charged).toEqual(replayed.charged)
    await runtime.shutdown()
  })

  it('parallel branches that together go past maxSteps are all stopped; the merge keeps what they have', async () => {
    // Each branch makes one call, then waits in its first tool until aborted: the third call of
    // the tree is past 2, whichever branch makes it, and every branch is stopped.
    const pipeline = parallel([worker('p0', 1), worker('p1', 1), worker('p2', 1)], {
      id: 'fan-budget',
      maxSteps: 2,
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('go')
    const note = 'Stopped: the step budget of this run and its children was exhausted.'
    expect(JSON.parse(String(await handle.result))).toEqual({
      p0: { error: note },
      p1: { error: note },
      p2: { error: note },
    })
    for (const agentId of ['p0', 'p1', 'p2']) {
      const run = await runOf(runtime, agentId)
      await until(async () => (await runtime.record(run))?.status === 'cancelled')
    }
    expect((await runtime.get(handle.runId)).state.charged?.steps).toBe(3)
    await runtime.shutdown()
  })

  it('children that together go past the token budget stop the same way', async () => {
    // Each model call costs 2 tokens: t0's three make 6, t1's first makes 8, past 7.
    const pipeline = sequence([worker('t0'), worker('t1', 1)], { id: 'tokens', maxTokens: 7 })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('go')
    expect(await handle.result).toBe('t0 done')
    const state = (await runtime.get(handle.runId)).state
    expect(state.charged).toMatchObject({ steps: 4, usage: { inputTokens: 4, outputTokens: 4 } })
    const t1 = await runOf(runtime, 't1')
    await until(async () => (await runtime.record(t1))?.status === 'cancelled')
    await runtime.shutdown()
  })

  it("children whose calls together cost the pipeline's maxCostUsd are stopped the same way", async () => {
    // Each call is 2 tokens at $0.1 per thousand: $0.2. c0's three cost $0.6, c1's first reaches $0.7.
    const price = { inputPerMTok: 100_000, outputPerMTok: 100_000 }
    const pipeline = sequence([worker('c0', undefined, price), worker('c1', 1, price)], {
      id: 'costly',
      maxCostUsd: 0.7,
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [pipeline] })
    const handle = await pipeline.start('go')
    expect(await handle.result).toBe('c0 done')
    const charged = (await runtime.get(handle.runId)).state.charged
    expect(charged?.steps).toBe(4)
    expect(charged?.costUsd).toBeCloseTo(0.8, 10)
    const c1 = await runOf(runtime, 'c1')
    await until(async () => (await runtime.record(c1))?.status === 'cancelled')
    await runtime.shutdown()
  })

  it("a grandchild's model calls are charged to the root, which stops the whole branch", async () => {
    const inner = sequence([worker('g0'), worker('g1', 2)], { id: 'inner-budget' })
    const outer = sequence([inner], { id: 'outer-budget', maxSteps: 4 })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [outer] })
    const handle = await outer.start('start')
    // The only stage was stopped: the root answers with what it has, its input.
    expect(await handle.result).toBe('start')
    expect((await runtime.get(handle.runId)).state.charged?.steps).toBe(5)
    const innerRun = await runOf(runtime, 'inner-budget')
    const g1 = await runOf(runtime, 'g1')
    await until(async () => (await runtime.record(innerRun))?.status === 'cancelled')
    await until(async () => (await runtime.record(g1))?.status === 'cancelled')
    // The middle pipeline has no budget of its own (1000): it was charged the same steps.
    expect((await runtime.get(innerRun)).state.charged?.steps).toBe(5)
    await runtime.shutdown()
  })
})

describe('stopping a parent stops its children', () => {
  it('a parent cancelled while its child is being started cancels the child once it exists', async () => {
    const base = createMemoryStore()
    const creating = gate()
    const childCreate = gate()
    const store = new Proxy(base, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver)
        if (property !== 'createRun') return typeof value === 'function' ? value.bind(target) : value
        return async (...args: Parameters<Store['createRun']>) => {
          if (args[0].agentId === 'stuck-child') {
            creating.open()
            await childCreate.promise
          }
          return target.createRun(...args)
        }
      },
    }) as Store
    const child = new Agent({
      id: 'stuck-child',
      model: scripted(
        (_request, { signal }) =>
          new Promise((_resolve, reject) =>
            signal?.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
      ),
      policies: { retry: false },
    })
    const parent = sequence([child], { id: 'cancelled-parent' })
    const runtime = createRuntime({ store, agents: [parent] })
    const handle = await parent.start('x')
    await creating.promise
    await runtime.cancel(handle.runId, 'changed my mind')
    childCreate.open()
    await expect(handle.result).rejects.toMatchObject({ reason: 'cancelled' })
    await until(async () => (await base.listRuns({ agentId: 'stuck-child' })).items.length === 1)
    const childRun = (await base.listRuns({ agentId: 'stuck-child' })).items[0]?.runId ?? ''
    await until(async () => (await base.getRun(childRun))?.status === 'cancelled')
    await runtime.shutdown()
  })
})

describe('a parent that changes hands leaves its child running', () => {
  it('a parent that loses its lease does not cancel its child; the next owner takes up its answer', async () => {
    const base = createMemoryStore()
    let parentRun = ''
    // The parent's lease cannot be renewed (as if another worker took it): its owner here lets go.
    const store = new Proxy(base, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver)
        if (property === 'renewLease')
          return async (...args: Parameters<Store['renewLease']>) =>
            args[0].runId === parentRun ? undefined : target.renewLease(...args)
        return typeof value === 'function' ? value.bind(target) : value
      },
    }) as Store
    const answer = gate()
    const make = () =>
      sequence(
        [
          new Agent({
            id: 'long-child',
            model: scripted(async () => {
              await answer.promise
              return { text: 'child answer' }
            }),
            policies: { retry: false },
          }),
        ],
        { id: 'lease-parent' },
      )
    const first = createRuntime({ store, agents: [make()], leaseTtlMs: 60, onError: () => undefined })
    const handle = await first.spawn('lease-parent', 'go')
    parentRun = handle.runId
    await until(async () => (await first.list({ agentId: 'long-child' })).items.length === 1)
    const child = await runOf(first, 'long-child')
    await until(() => !first.isActive(parentRun))
    answer.open()
    await until(async () => ['completed', 'cancelled'].includes((await base.getRun(child))?.status ?? ''))
    expect((await base.getRun(child))?.status).toBe('completed')
    // Another worker recovers the parent: its re-run tool call finds the child's answer.
    await new Promise((resolve) => setTimeout(resolve, 80))
    const second = createRuntime({ store: base, agents: [make()], leaseTtlMs: 60 })
    await second.recover()
    expect(await second.handle(parentRun).result).toBe('child answer')
    await first.shutdown()
    await second.shutdown()
  })
})

describe('a child run by another worker', () => {
  it('is supervised from its journal: the parent gets its parts and its answer though no handle here settles', async () => {
    const data = createMemoryStore()
    const crash = freezable(data)
    const answer = gate()
    let calls = 0
    const childAgent = () =>
      new Agent({
        id: 'remote-child',
        model: scripted(async () => {
          calls += 1
          if (calls === 1) await new Promise(() => undefined) // the first process dies in it
          await answer.promise
          return { text: 'answered elsewhere' }
        }),
        policies: { retry: false },
      })
    const pipeline = () => sequence([childAgent()], { id: 'remote-parent' })
    const first = createRuntime({
      store: crash.store,
      agents: [pipeline()],
      leaseTtlMs: 50,
      onError: () => undefined,
    })
    const handle = await first.spawn('remote-parent', 'go')
    await until(() => calls === 1)
    crash.dieAt(() => true)
    await new Promise((resolve) => setTimeout(resolve, 80))
    // Worker B knows only the child's agent: it takes the child. Worker C takes the parent.
    const workerB = createRuntime({ store: data, agents: [childAgent()], leaseTtlMs: 5000 })
    const child = await runOf(workerB, 'remote-child')
    expect(await workerB.recover()).toEqual([child])
    const workerC = createRuntime({ store: data, agents: [pipeline()], leaseTtlMs: 5000 })
    await workerC.recover()
    expect(workerC.isActive(handle.runId)).toBe(true)
    expect(workerC.isActive(child)).toBe(false)
    answer.open()
    expect(await workerC.handle(handle.runId).result).toBe('answered elsewhere')
    const parts = (await all(workerC.stream(handle.runId, { follow: false }))).map((p) => p.part)
    expect(childParts(parts, child)).toEqual(
      (await all(workerC.stream(child, { follow: false }))).map((p) => p.part),
    )
    await workerB.shutdown()
    await workerC.shutdown()
  })
})

describe.each(backends)('a parent that crashes while its child runs (%s)', (_name, open) => {
  it('is rehydrated, finds its child, and its stream has every child part exactly once', async () => {
    const data = await open()
    const crash = freezable(data)
    const slow = gate()
    let firstModelCalls = 0
    const make = (first: boolean) => {
      const stage = (id: string, wait: boolean) =>
        new Agent({
          id,
          model: scripted(async (request) => {
            if (wait && first) {
              firstModelCalls += 1
              await slow.promise
            }
            return { text: `${id}(${lastUserText(request.messages)})` }
          }),
          policies: { retry: false },
        })
      return sequence([stage('research', false), stage('write', true)], { id: 'crashy' })
    }
    const first = createRuntime({
      store: crash.store,
      agents: [make(true)],
      leaseTtlMs: 50,
      onError: () => undefined,
    })
    const handle = await first.spawn('crashy', 'otters')
    // The child `write` is in its model call, and the parent has journaled its start.
    await until(() => firstModelCalls === 1)
    const write = await runOf(first, 'write')
    await until(async () =>
      (await data.read(handle.runId)).some(
        (entry) =>
          entry.type === 'child.reported' && (entry.data as { childRunId?: string }).childRunId === write,
      ),
    )
    crash.dieAt(() => true)
    // The first process is gone: its leases run out.
    await new Promise((resolve) => setTimeout(resolve, 80))
    const second = createRuntime({ store: data, agents: [make(false)], leaseTtlMs: 50 })
    await second.recover()
    expect(await second.handle(handle.runId).result).toBe('write(research(otters))')

    // One child run per stage, never a second `write`.
    expect((await second.list({ parentRunId: handle.runId })).items.map((run) => run.agentId).sort()).toEqual(
      ['research', 'write'],
    )
    const journal = await second.journal(handle.runId)
    const reported = journal
      .filter((entry) => entry.type === 'child.reported')
      .map((entry) => entry.data as unknown as Extract<RunEvent, { type: 'child.reported' }>)
      .filter((event) => event.childRunId === write)
      .map((event) => event.seq)
    expect(reported).toEqual([...reported].sort((a, b) => a - b))
    expect(new Set(reported).size).toBe(reported.length)
    const parts = (await all(second.stream(handle.runId, { follow: false }))).map((p) => p.part)
    assertWellFormedStream(parts)
    const ownWrite = (await all(second.stream(write, { follow: false }))).map((p) => p.part)
    expect(childParts(parts, write)).toEqual(ownWrite)
    assertWellFormedStream(childParts(parts, write))
    slow.open()
    await second.shutdown()
  })
})
