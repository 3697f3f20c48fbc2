import { defineTool, registerTool, type Store } from '@vel/core'
import { createMemoryState, createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { freezable, until, withoutFeatures } from './run-support.ts'
import { scripted } from './support.ts'

/** Python-Vel habits (issue 19, factors 1 and 8): they work, or they fail loudly. */
describe('habits from the Python seed', () => {
  it('a tool named by string resolves through registerTool, and an unknown name fails construction', async () => {
    let called = 0
    registerTool(
      defineTool({
        name: 'get_weather_seed',
        description: 'Weather.',
        input: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        handler: ({ city }: { city: string }) => {
          called += 1
          return `sunny in ${city}`
        },
        sideEffects: 'none',
      }),
    )
    const agent = new Agent({
      id: 'weather',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'done' }
          : { toolCalls: [{ id: 'w1', name: 'get_weather_seed', input: { city: 'Tokyo' } }] },
      ),
      tools: ['get_weather_seed'],
      policies: { retry: false },
    })
    createRuntime({ store: createMemoryStore(), agents: [agent] })
    expect(await agent.run('weather?')).toBe('done')
    expect(called).toBe(1)
    expect(
      () => new Agent({ id: 'nope', model: scripted(() => ({ text: '' })), tools: ['not_registered'] }),
    ).toThrow(/no tool named 'not_registered' is registered/)
  })

  it('{ message } input reaches the model as a user message', async () => {
    const model = scripted((request) => ({ text: JSON.stringify(request.messages.at(-1)) }))
    const agent = new Agent({ id: 'seed-input', model, policies: { retry: false } })
    const answer = await agent.run({ message: 'What is the weather in Tokyo?' } as never)
    expect(JSON.parse(String(answer))).toEqual({ role: 'user', content: 'What is the weather in Tokyo?' })
  })

  it('policies.retry { attempts: 2 } retries a failing idempotent tool, and never an unsafe one', async () => {
    const runs = { idempotent: 0, unsafe: 0 }
    const flaky = (name: 'idempotent' | 'unsafe') =>
      defineTool({
        name,
        description: 'Fails the first time.',
        input: { type: 'object' },
        sideEffects: name,
        handler: async () => {
          runs[name] += 1
          if (runs[name] === 1) throw new Error('flaky')
          return 'ok'
        },
      })
    const agent = new Agent({
      id: 'seed-retry',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: JSON.stringify(request.messages.at(-1)?.content) }
          : {
              toolCalls: [
                { id: 'i1', name: 'idempotent', input: {} },
                { id: 'u1', name: 'unsafe', input: {} },
              ],
            },
      ),
      tools: [flaky('idempotent'), flaky('unsafe')],
      policies: { retry: { attempts: 2, initialDelayMs: 1 } },
    })
    createRuntime({ store: createMemoryStore(), agents: [agent] })
    const answer = String(await agent.run('go'))
    expect(runs).toEqual({ idempotent: 2, unsafe: 1 })
    expect(answer).toContain('"output":"ok"')
    expect(answer).toContain('flaky')
  })
})

describe('sessions under concurrency', () => {
  it('a second run of a session that has an unfinished run fails fast with session-busy', async () => {
    const agent = new Agent({
      id: 'session-busy',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'done' }
          : { toolCalls: [{ id: 'ok_1', name: 'confirm', input: {} }] },
      ),
      tools: [
        defineTool({
          name: 'confirm',
          description: 'Needs a human.',
          input: { type: 'object' },
          needsApproval: true,
          handler: () => 'confirmed',
        }),
      ],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const first = await runtime.spawn('session-busy', 'one', { sessionId: 's-busy' })
    await expect(runtime.spawn('session-busy', 'two', { sessionId: 's-busy' })).rejects.toMatchObject({
      reason: 'session-busy',
    })
    await runtime.approve(first.runId, 'ok_1')
    expect(await first.result).toBe('done')
    const second = await runtime.spawn('session-busy', 'two', { sessionId: 's-busy' })
    expect(second.runId).not.toBe(first.runId)
  })
})

describe('control flow in streaming mode (factor 8)', () => {
  const deployAgent = (id: string, runs: { deploy: number }) =>
    new Agent({
      id,
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'deployed' }
          : { toolCalls: [{ id: 'd1', name: 'deploy', input: { env: 'prod' } }] },
      ),
      tools: [
        defineTool({
          name: 'deploy',
          description: 'Deploys.',
          input: { type: 'object' },
          handler: () => {
            runs.deploy += 1
            return 'ok'
          },
        }),
      ],
      policies: { retry: false },
    })

  it('breaking out of the loop at the tool input stops the run before the tool starts', async () => {
    const runs = { deploy: 0 }
    const agent = deployAgent('blocked', runs)
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    let runId = ''
    for await (const part of agent.stream('deploy now')) {
      if (part.type === 'start') runId = part.messageId ?? ''
      if (part.type === 'tool-input-available' && part.toolName === 'deploy') break // outside business hours
    }
    const record = await (async () => {
      for (let tries = 0; tries < 200; tries++) {
        const found = await runtime.record(runId)
        if (found?.status === 'cancelled') return found
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      return runtime.record(runId)
    })()
    expect(record?.status).toBe('cancelled')
    expect(runs.deploy).toBe(0)
  })

  it('with detach, the run goes on without its caller', async () => {
    const runs = { deploy: 0 }
    const agent = deployAgent('detached', runs)
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    let runId = ''
    for await (const part of agent.stream('deploy now', { detach: true })) {
      if (part.type === 'start') runId = part.messageId ?? ''
      if (part.type === 'tool-input-available') break
    }
    expect(await runtime.handle(runId).result).toBe('deployed')
    expect(runs.deploy).toBe(1)
  })
})

describe('session-busy across processes', () => {
  it('two runtimes that both pass the session check before either indexes its run never both go on', async () => {
    // Two "processes" on one store; each one's createRun for the session waits until both have
    // passed the check, the interleaving that let two turns of one session run at once.
    const store = createMemoryStore()
    let arrived = 0
    let release!: () => void
    const bothChecked = new Promise<void>((resolve) => {
      release = resolve
    })
    const racing = (): Store =>
      new Proxy(store, {
        get(target, key, receiver) {
          if (key !== 'createRun') return Reflect.get(target, key, receiver)
          return async (run: Parameters<Store['createRun']>[0]) => {
            if (run.sessionId === 'raced') {
              arrived += 1
              if (arrived === 2) release()
              await bothChecked
            }
            return target.createRun(run)
          }
        },
      })
    const agent = () =>
      new Agent({ id: 'turn', model: scripted(() => ({ text: 'ok' })), policies: { retry: false } })
    const first = createRuntime({ store: racing(), agents: [agent()], onError: () => undefined })
    const second = createRuntime({ store: racing(), agents: [agent()], onError: () => undefined })
    const outcomes = await Promise.allSettled([
      first.spawn('turn', 'one', { sessionId: 'raced' }).then((handle) => handle.result),
      second.spawn('turn', 'two', { sessionId: 'raced' }).then((handle) => handle.result),
    ])
    // Both reached createRun; a refused start tries once more the usual way (ADR 0122), so three.
    expect(arrived).toBe(3)
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected')
    expect(refused.length).toBeGreaterThanOrEqual(1)
    for (const outcome of refused)
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ reason: 'session-busy' })
    // A refused turn leaves nothing behind; the session holds only the turn that ran.
    const runs = await store.listRuns({ sessionId: 'raced' })
    expect(runs.items.map((run) => run.status)).toEqual(
      outcomes.length - refused.length === 1 ? ['completed'] : [],
    )
    const users =
      (await store.getSession('raced'))?.messages.filter((message) => message.role === 'user') ?? []
    expect(users).toHaveLength(2 - refused.length)
    // And the session takes the next turn.
    expect(await (await first.spawn('turn', 'three', { sessionId: 'raced' })).result).toBe('ok')
    await Promise.all([first.shutdown(), second.shutdown()])
  })

  it('a turn sent once the previous one streamed finish finds its row final and its turn in the session', async () => {
    // The last append carries the row and the turn (ADR 0127), and parts go out after it.
    const store = createMemoryStore()
    const agent = new Agent({
      id: 'turn',
      model: scripted(() => ({ text: 'ok' })),
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent], onError: () => undefined })
    const first = await runtime.spawn('turn', 'one', { sessionId: 'quick' })
    for await (const { part } of runtime.stream(first.runId)) if (part.type === 'finish') break
    expect((await store.getRun(first.runId))?.status).toBe('completed')
    expect((await store.getSession('quick'))?.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
    ])
    const second = await runtime.spawn('turn', 'two', { sessionId: 'quick' })
    expect(await second.result).toBe('ok')
    const users = (await store.getSession('quick'))?.messages.filter((message) => message.role === 'user')
    expect(users?.map((message) => message.content)).toEqual(['one', 'two'])
    await runtime.shutdown()
  })

  it('a turn sent while a recovered run finishes its bookkeeping waits for its index row instead of session-busy', async () => {
    // A process wrote a run's last entry but died before its turn and row (as it can on a store
    // without the session-turn feature, ADR 0127): recovering finishes the run, session turn
    // first, then the row. Here the next turn's session check reads the index while that row
    // still says running.
    const state = createMemoryState()
    // After that write the process is gone: nothing it calls settles (its lease is not renewed).
    // Its store writes the turn and the row after the entry (no session-turn feature).
    const crash = freezable(withoutFeatures(createMemoryStore({ state })))
    crash.dieAt((method) => method === 'appendSession')
    const agent = new Agent({
      id: 'turn',
      model: scripted(() => ({ text: 'ok' })),
      policies: { retry: false },
    })
    const crashed = createRuntime({
      store: crash.store,
      agents: [agent],
      leaseTtlMs: 50,
      onError: () => undefined,
    })
    const first = await crashed.spawn('turn', 'one', { sessionId: 'quick' })
    const store = createMemoryStore({ state })
    await until(() => crash.frozen)
    expect((await store.getRun(first.runId))?.status).toBe('running')
    expect(await store.getSession('quick')).toBeUndefined()
    let armed = false
    let opened = false
    let open!: () => void
    const hold = new Promise<void>((resolve) => {
      open = resolve
    })
    const slow: Store = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'updateRun')
          return async (runId: string, patch: Parameters<Store['updateRun']>[1]) => {
            if (patch.status === 'completed') await hold
            return target.updateRun(runId, patch)
          }
        if (key === 'listRuns')
          return async (...args: Parameters<Store['listRuns']>) => {
            const page = await target.listRuns(...args)
            if (armed && !opened && page.items.some((run) => run.status === 'running')) {
              opened = true
              open()
            }
            return page
          }
        return Reflect.get(target, key, receiver)
      },
    })
    const runtime = createRuntime({ store: slow, agents: [agent], leaseTtlMs: 50, onError: () => undefined })
    await until(async () => (await store.getLease(first.runId)) === undefined)
    const recovering = runtime.recover()
    // Its turn is written, its row not yet.
    await until(async () => (await store.getSession('quick')) !== undefined)
    armed = true
    const second = await runtime.spawn('turn', 'two', { sessionId: 'quick' })
    expect(opened).toBe(true)
    expect(await second.result).toBe('ok')
    await recovering
    expect((await store.getRun(first.runId))?.status).toBe('completed')
    // The dead process's runtime never finishes its shutdown (its store never answers): not awaited.
    void crashed.shutdown({ graceMs: 1 })
    const users = (await store.getSession('quick'))?.messages.filter((message) => message.role === 'user')
    expect(users?.map((message) => message.content)).toEqual(['one', 'two'])
    await runtime.shutdown()
  })
})
