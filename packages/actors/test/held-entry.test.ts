import { defineTool, type JournalEntryInput, type Store, StoreError } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { gate, intercept, storeBackends, until } from './run-support.ts'
import { collect, partTypes, scripted } from './support.ts'

const backends = storeBackends('vel-held-')

/** The entry types of each append, in order. */
const recording = (store: Store) => {
  const appends: string[][] = []
  const wrapped = intercept(store, {
    append: (call, _runId: string, entries: ReadonlyArray<JournalEntryInput>) => {
      appends.push(entries.map((entry) => entry.type))
      return call()
    },
  })
  return { store: wrapped, appends }
}

const input = {
  type: 'object',
  properties: { a: { type: 'number' }, b: { type: 'number' } },
  required: ['a', 'b'],
  additionalProperties: false,
}

const adding = (
  sideEffects: 'none' | 'unsafe',
  handler: (input: { a: number; b: number }) => number | Promise<number>,
) => defineTool({ name: 'add', description: 'Adds.', input, handler, sideEffects })

/** Calls `add` once, then answers with what it returned. */
const oneCall = (counter = { calls: 0 }) =>
  scripted((request) => {
    counter.calls += 1
    const last = request.messages.at(-1)
    if (last?.role === 'tool') {
      const result = last.content[0]
      return {
        text: `sum=${result?.type === 'tool-result' && 'output' in result ? JSON.stringify(result.output) : '?'}`,
      }
    }
    return { toolCalls: [{ id: 'call_1', name: 'add', input: { a: 2, b: 3 } }] }
  })

describe.each(backends)("a side-effect-free tool's call and result, one append, %s", (_name, open) => {
  it('journals the call with the result when the tool ends at once', async () => {
    const { store, appends } = recording(await open())
    const agent = new Agent({
      id: 'held',
      model: oneCall(),
      tools: [adding('none', ({ a, b }) => a + b)],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    const handle = await runtime.spawn('held', 'add')
    expect(await handle.result).toBe('sum=5')
    expect(appends).toEqual([['model.responded', 'tool.succeeded'], ['model.responded']])
    const journal = await store.read(handle.runId)
    expect(journal.map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
      'tool.succeeded',
      'model.responded',
    ])
    expect(journal.map((entry) => entry.seq)).toEqual([1, 2, 3, 4])
    await runtime.shutdown()
  })

  it('journals the call first when the tool does not end at once, or has effects', async () => {
    for (const [tool, expected] of [
      [
        adding('none', async ({ a, b }) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          return a + b
        }),
        [['model.responded'], ['tool.succeeded'], ['model.responded']],
      ],
      [
        adding('unsafe', ({ a, b }) => a + b),
        [['model.responded'], ['tool.started'], ['tool.succeeded'], ['model.responded']],
      ],
    ] as const) {
      const { store, appends } = recording(await open())
      const agent = new Agent({ id: 'held', model: oneCall(), tools: [tool], policies: { retry: false } })
      const runtime = createRuntime({ store, agents: [agent] })
      expect(await (await runtime.spawn('held', 'add')).result).toBe('sum=5')
      expect(appends).toEqual(expected)
      await runtime.shutdown()
    }
  })

  it("streams the call's parts, then the tool's own, then its result", async () => {
    const tool = defineTool({
      name: 'add',
      description: 'Adds.',
      input,
      sideEffects: 'none',
      handler: ({ a, b }: { a: number; b: number }, context) => {
        context.emit?.([{ type: 'data-progress', data: { adding: [a, b] } }])
        return a + b
      },
    })
    const { store } = recording(await open())
    const agent = new Agent({ id: 'held', model: oneCall(), tools: [tool], policies: { retry: false } })
    createRuntime({ store, agents: [agent] })
    const parts = await collect(agent.stream('add'))
    expect(partTypes(parts)).toEqual([
      'start',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'data-progress',
      'tool-output-available',
      'finish-step',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ])
  })

  it('journals neither when their append fails; the run resumes from before the call', async () => {
    const data = await open()
    let failed = false
    const failing = intercept(data, {
      append: (call, _runId: string, entries: ReadonlyArray<JournalEntryInput>) => {
        if (entries.length === 2 && !failed) {
          failed = true
          return Promise.reject(new StoreError('unavailable', 'the disk is gone', { retryable: false }))
        }
        return call()
      },
    })
    const counter = { calls: 0 }
    let ran = 0
    const tool = adding('none', ({ a, b }) => {
      ran += 1
      return a + b
    })
    const agentOn = () =>
      new Agent({ id: 'held', model: oneCall(counter), tools: [tool], policies: { retry: false } })
    const errors: unknown[] = []
    const first = createRuntime({
      store: failing,
      agents: [agentOn()],
      leaseTtlMs: 50,
      onError: (error) => errors.push(error),
    })
    const handle = await first.spawn('held', 'add')
    await until(() => errors.length > 0)
    // The call and its result were acted on, not journaled: the journal still ends at the start.
    expect((await data.read(handle.runId)).map((entry) => entry.type)).toEqual(['run.started'])
    expect(ran).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 80))
    const second = createRuntime({ store: data, agents: [agentOn()] })
    expect(await second.recover()).toEqual([handle.runId])
    expect(await second.handle(handle.runId).result).toBe('sum=5')
    // The model is asked again for the step that was lost, and the tool runs again.
    expect(counter.calls).toBe(3)
    expect(ran).toBe(2)
    expect((await data.read(handle.runId)).map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
      'tool.succeeded',
      'model.responded',
    ])
    await second.shutdown()
    await first.shutdown()
  })

  it("positions an asynchronous tool's parts at its result's seq, and a live reader gets the result", async () => {
    const tool = defineTool({
      name: 'add',
      description: 'Adds, telling its progress between awaits.',
      input,
      sideEffects: 'none',
      handler: async ({ a, b }: { a: number; b: number }, context) => {
        for (let tick = 0; tick < 20; tick++) {
          await Promise.resolve()
          context.emit?.([{ type: 'data-tick', data: { tick } }])
        }
        return a + b
      },
    })
    const store = await open()
    const answered = gate()
    const agent = new Agent({
      id: 'held',
      model: scripted(async (request) => {
        await answered.promise
        const last = request.messages.at(-1)
        if (last?.role === 'tool') return { text: 'done' }
        return { toolCalls: [{ id: 'call_1', name: 'add', input: { a: 2, b: 3 } }] }
      }),
      tools: [tool],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    const handle = await runtime.spawn('held', 'add')
    const seen: Array<{ type: string; seq: number }> = []
    const reading = (async () => {
      for await (const { part, position } of runtime.stream(handle.runId))
        seen.push({ type: part.type, seq: position.seq })
    })()
    await new Promise((resolve) => setTimeout(resolve, 10))
    answered.open()
    expect(await handle.result).toBe('done')
    await reading
    const result = (await store.read(handle.runId)).find((entry) => entry.type === 'tool.succeeded')
    const ticks = seen.filter((part) => part.type === 'data-tick')
    expect(ticks.length).toBeGreaterThan(0)
    for (const tick of ticks) expect(tick.seq).toBe(result?.seq)
    expect(seen.map((part) => part.type)).toContain('tool-output-available')
    await runtime.shutdown()
  })

  it('is not in the state `get` returns until it is journaled', async () => {
    const data = await open()
    const release = gate()
    let pairs = 0
    const slow = intercept(data, {
      append: async (call, _runId: string, entries: ReadonlyArray<JournalEntryInput>) => {
        if (entries.length === 2) {
          pairs += 1
          await release.promise
        }
        return call()
      },
    })
    const agent = new Agent({
      id: 'held',
      model: oneCall(),
      tools: [adding('none', ({ a, b }) => a + b)],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store: slow, agents: [agent] })
    const handle = await runtime.spawn('held', 'add')
    await until(() => pairs === 1)
    // The call and its result are applied and waiting for their append: a crash now loses both.
    const info = await runtime.get(handle.runId)
    expect(info.seq).toBe(1)
    expect(info.state.messages.map((message) => message.role)).toEqual(['user'])
    release.open()
    expect(await handle.result).toBe('sum=5')
    expect((await runtime.get(handle.runId)).seq).toBe(4)
    await runtime.shutdown()
  })
})
